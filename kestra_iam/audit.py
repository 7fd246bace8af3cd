"""The audit trail: one event per write, committed with the write it records.

A change and its event are written in the same transaction, so both exist or neither does: a
worker killed between them, or an event that cannot be inserted, leaves no unrecorded change
(the write fails instead, and the client retries). Refusals change nothing, so they are recorded
on a best-effort basis, after the request, and a failure to record one is only logged.

Events hold identifiers and outcomes only: never a token, a password or a request body.
"""

from __future__ import annotations

import getpass
import logging
import unicodedata
import uuid
from dataclasses import dataclass, replace

from django.db import DatabaseError, transaction

from kestra_iam.compiled import CompiledInsert
from kestra_iam.models import AuditEvent
from observability.availability import DATABASE_OUTAGE, is_unavailable

logger = logging.getLogger(__name__)

MAX_DETAIL = 512
# One insert per write: compiled once (nothing listens to AuditEvent's signals).
EVENT_INSERT = CompiledInsert(AuditEvent)


class AuditWriteFailed(Exception):
    """The event of a write could not be stored; the write is rolled back with it."""


@dataclass(frozen=True)
class AuditEntry:
    """Who does what to which kind of resource; the outcome and the resource id come later.

    Built where the request is understood (a view, an admin page, a command) and handed to the
    service that performs the write, which records it inside its own transaction.
    """

    action: str
    actor_type: str
    actor: str
    tenant_id: str = ""
    integration_id: uuid.UUID | str | None = None
    resource_type: str = ""
    resource_id: str = ""
    request_id: str = ""
    outcome: int = 200  # what success answers (201 for a creation, 204 for no content)
    # For an API write: the authorisation generation its request ran under, checked by the
    # database when the event is stored (`kestra_iam.authorisation`); None for the admin and
    # the commands, whose users are checked by Django on every request.
    authorised_generation: int | None = None

    def with_resource(self, resource_id: object) -> AuditEntry:
        return replace(self, resource_id=str(resource_id))

    def record(self, *, resource_id: object | None = None, detail: str = "") -> AuditEvent:
        """Store the event of a successful write, in the caller's transaction.

        Raises AuditWriteFailed (inside the transaction, which then rolls back) if the event
        cannot be stored: a write without its event must not commit.
        """
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("record() belongs inside the transaction of the write it records")
        try:
            event = self.event(resource_id=resource_id, detail=detail)
            EVENT_INSERT.insert(event)
            return event
        except DatabaseError as exc:
            if is_unavailable(exc):  # the write failed with it: not the event's doing
                raise
            # Raised, not swallowed: the exception takes the whole transaction back with it.
            logger.error(
                "Could not write the audit event %s (%s): %s",
                self.action,
                self.request_id,
                type(exc).__name__,
            )
            raise AuditWriteFailed(str(exc)) from exc

    def event(self, *, resource_id: object | None = None, detail: str = "") -> AuditEvent:
        """The event of a successful write, not stored yet: for a write that inserts it with its
        own rows, all or none (`kestra_iam.compiled.insert_atomically` with `EVENT_INSERT`)."""
        entry = self if resource_id is None else self.with_resource(resource_id)
        return AuditEvent(**entry._fields(self.outcome, detail))

    def record_refusal(self, *, outcome: int, detail: str = "") -> AuditEvent | None:
        """Store the event of a refused or failed request; a failure here is logged, not raised.

        Call it outside any transaction: the request changed nothing that could be lost.
        """
        try:
            # Its own transaction (a savepoint if the caller has one), so a failed insert
            # leaves the connection usable.
            # Unchecked: a refusal is recorded whatever became of the caller's authorisation.
            fields = {**self._fields(outcome, detail), "authorised_generation": None}
            with transaction.atomic():
                return AuditEvent.objects.create(**fields)
        except DatabaseError as exc:
            if is_unavailable(exc):  # the refusal was most likely this outage's 503
                DATABASE_OUTAGE.failed(exc)
            else:
                logger.exception(
                    "Could not write the audit event %s (%s)", self.action, self.request_id
                )
            return None

    def _fields(self, outcome: int, detail: str) -> dict:
        return {
            "action": self.action,
            "outcome": outcome,
            "actor_type": self.actor_type,
            "actor": printable(self.actor)[:256],
            "tenant_id": printable(self.tenant_id or "")[:63],
            "integration_id": self.integration_id,
            "resource_type": self.resource_type,
            "resource_id": printable(str(self.resource_id))[:128],
            "request_id": printable(self.request_id)[:64],
            "detail": printable(detail)[:MAX_DETAIL],
            "authorised_generation": self.authorised_generation,
        }


def printable(text: str) -> str:
    """Client-supplied text (ids from URLs, error details) without control characters, which
    the database may refuse (NUL) and a log viewer may interpret (CR/LF)."""
    if text.isprintable():  # the usual case, checked in C: no control character at all
        return text
    return "".join(ch if unicodedata.category(ch)[0] != "C" else "\ufffd" for ch in text)


def command_actor() -> str:
    """Who ran a management command, as far as the operating system knows."""
    try:
        return f"{getpass.getuser()} (manage.py)"
    except (KeyError, OSError):
        return "manage.py"
