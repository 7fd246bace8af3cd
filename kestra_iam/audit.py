"""The audit trail: one event per write, committed with the write it records.

A change and its event are written in the same transaction, so both exist or neither does: a
worker killed between them, or an event that cannot be inserted, leaves no unrecorded change
(the write fails instead, and the client retries). Refusals change nothing, so they are recorded
on a best-effort basis, after the request, and a failure to record one is only logged.

Events hold identifiers, names, outcomes and what changed (bounded, `Changes`): never a token,
a password or a request body — a secret that changed is recorded only as "set".
"""

from __future__ import annotations

import getpass
import logging
import unicodedata
import uuid
from dataclasses import dataclass, replace

from django.db import DatabaseError, transaction

from kestra_iam.db.compiled import CompiledInsert
from kestra_iam.models import AuditEvent
from observability.availability import DATABASE_OUTAGE, is_unavailable

logger = logging.getLogger(__name__)

MAX_DETAIL = 512
# One insert per write: compiled once (nothing listens to AuditEvent's signals).
EVENT_INSERT = CompiledInsert(AuditEvent)


# Bounds of what one event says it changed, whatever the write: a PUT of 10,000 members or of
# a 64 KiB attribute must not make a 64 KiB event.
MAX_ATTRIBUTES = 20
MAX_VALUE = 120
MAX_NAMES = 10
SET = "set"  # what a changed secret reads as


class Changes:
    """What one write changed, gathered by the service that makes it, stored bounded.

    `attribute(name, old, new)` for a changed value (`secret()` for a password), `members(
    added=…, removed=…)` for group members by name. Stored as
    `{"attributes": {name: [old, new] | "set"}, "more_attributes": n,
    "members": {"added": [names], "added_count": n, "removed": […], "removed_count": n}}`.
    """

    def __init__(self) -> None:
        self._attributes: dict[str, object] = {}
        self._more = 0
        self._added: list[str] = []
        self._added_count = 0
        self._removed: list[str] = []
        self._removed_count = 0

    def attribute(self, name: str, old: object, new: object) -> None:
        if old == new:
            return
        if len(self._attributes) >= MAX_ATTRIBUTES:
            self._more += 1
            return
        self._attributes[name] = [_bounded(old), _bounded(new)]

    def secret(self, name: str) -> None:
        if len(self._attributes) >= MAX_ATTRIBUTES:
            self._more += 1
            return
        self._attributes[name] = SET

    def members(self, *, added: list[str] = (), removed: list[str] = ()) -> None:
        """Names of members added and removed; their counts are kept whatever their number."""
        self._added.extend(_bounded(name) for name in added[: MAX_NAMES - len(self._added)])
        self._added_count += len(added)
        self._removed.extend(_bounded(name) for name in removed[: MAX_NAMES - len(self._removed)])
        self._removed_count += len(removed)

    def changed(self, name: str) -> tuple[object, object] | None:
        value = self._attributes.get(name)
        return tuple(value) if isinstance(value, list) else None

    def __bool__(self) -> bool:
        return bool(self._attributes or self._more or self._added_count or self._removed_count)

    def as_json(self) -> dict:
        stored: dict = {}
        if self._attributes:
            stored["attributes"] = self._attributes
        if self._more:
            stored["more_attributes"] = self._more
        if self._added_count or self._removed_count:
            stored["members"] = {
                "added": self._added,
                "added_count": self._added_count,
                "removed": self._removed,
                "removed_count": self._removed_count,
            }
        return stored


def _bounded(value: object) -> object:
    if isinstance(value, str):
        return printable(value) if len(value) <= MAX_VALUE else printable(value[:MAX_VALUE]) + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    return _bounded(str(value))


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

    def record(self, *, resource_id: object | None = None, **story) -> AuditEvent:
        """Store the event of a successful write, in the caller's transaction; `story` is what
        `event()` takes besides the resource id.

        Raises AuditWriteFailed (inside the transaction, which then rolls back) if the event
        cannot be stored: a write without its event must not commit.
        """
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("record() belongs inside the transaction of the write it records")
        try:
            event = self.event(resource_id=resource_id, **story)
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

    def event(
        self,
        *,
        resource_id: object | None = None,
        subject: str = "",
        kind: str = "",
        changes: Changes | None = None,
        detail: str = "",
    ) -> AuditEvent:
        """The event of a successful write, not stored yet: for a write that inserts it with its
        own rows, all or none (`kestra_iam.db.compiled.insert_atomically` with `EVENT_INSERT`).

        `subject` names the resource as it is at the write, `kind` says what the write did
        (`AuditEvent.Kind`; by default what the action's verb says), `changes` what it changed.
        """
        entry = self if resource_id is None else self.with_resource(resource_id)
        return AuditEvent(
            **entry._fields(self.outcome, detail),
            subject=printable(subject)[:256],
            kind=kind or kind_of_action(self.action),
            changes=changes.as_json() if changes else {},
        )

    def record_refusal(self, *, outcome: int, detail: str = "") -> AuditEvent | None:
        """Store the event of a refused or failed request; a failure here is logged, not raised.

        Call it outside any transaction: the request changed nothing that could be lost.
        """
        try:
            # Its own transaction (a savepoint if the caller has one), so a failed insert
            # leaves the connection usable.
            # Unchecked: a refusal is recorded whatever became of the caller's authorisation.
            fields = {
                **self._fields(outcome, detail),
                "authorised_generation": None,
                "kind": AuditEvent.Kind.REFUSED,
            }
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


# The verb ending an action (`admin.role.add`, `command.integration.rotate`) → its kind; a SCIM
# write says its kind itself, from what it changed.
VERB_KINDS = {
    "add": AuditEvent.Kind.CREATED,
    "create": AuditEvent.Kind.CREATED,
    "create_superuser": AuditEvent.Kind.CREATED,
    "change": AuditEvent.Kind.UPDATED,
    "update": AuditEvent.Kind.UPDATED,
    "default_role": AuditEvent.Kind.UPDATED,
    "make_primary": AuditEvent.Kind.UPDATED,
    "delete": AuditEvent.Kind.DELETED,
    "enable": AuditEvent.Kind.ENABLED,
    "disable": AuditEvent.Kind.DISABLED,
    "rotate_token": AuditEvent.Kind.TOKEN,
    "revoke_tokens": AuditEvent.Kind.TOKEN,
    "issue_token": AuditEvent.Kind.TOKEN,
    "repair": AuditEvent.Kind.REPAIRED,
}


def subject_of(obj: object) -> str:
    """How the trail names an object: by the name people know it by."""
    for attribute in ("user_name", "display_name", "name"):
        name = getattr(obj, attribute, None)
        if isinstance(name, str) and name:
            return name
    return str(obj)


def kind_of_action(action: str) -> str:
    verb = action.rsplit(".", 1)[-1].replace("-", "_")  # commands spell `rotate-token`
    return VERB_KINDS.get(verb, AuditEvent.Kind.OTHER)


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
