"""The audit trail: one event per write, never on the lock path, never failing the write."""

from __future__ import annotations

import getpass
import logging
import unicodedata
import uuid

from django.db import DatabaseError

from kestra_iam.models import AuditEvent

logger = logging.getLogger(__name__)

MAX_DETAIL = 512


def audit_record(
    *,
    action: str,
    outcome: int,
    actor_type: str,
    actor: str,
    tenant_id: str = "",
    integration_id: uuid.UUID | str | None = None,
    resource_type: str = "",
    resource_id: str = "",
    request_id: str = "",
    detail: str = "",
) -> AuditEvent | None:
    """Record one event; a failure to write it is logged, not raised.

    Call it once the write's own transaction has ended (never inside its row locks), with
    identifiers and outcomes only: never a token, a password or a body.
    """
    try:
        return AuditEvent.objects.create(
            action=action,
            outcome=outcome,
            actor_type=actor_type,
            actor=printable(actor)[:256],
            tenant_id=printable(tenant_id or "")[:63],
            integration_id=integration_id,
            resource_type=resource_type,
            resource_id=printable(str(resource_id))[:128],
            request_id=printable(request_id)[:64],
            detail=printable(detail)[:MAX_DETAIL],
        )
    except DatabaseError:
        logger.exception("Could not write the audit event %s (%s)", action, request_id)
        return None


def printable(text: str) -> str:
    """Client-supplied text (ids from URLs, error details) without control characters, which
    the database may refuse (NUL) and a log viewer may interpret (CR/LF)."""
    return "".join(ch if unicodedata.category(ch)[0] != "C" else "\ufffd" for ch in text)


def command_actor() -> str:
    """Who ran a management command, as far as the operating system knows."""
    try:
        return f"{getpass.getuser()} (manage.py)"
    except (KeyError, OSError):
        return "manage.py"
