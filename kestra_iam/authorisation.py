"""The authorisation a request runs under, checked by the database where it writes.

A caller's rights are read once, when it authenticates, under the *authorisation generation*
of that moment (`kestra_iam.models.AuthGeneration`), which every revocation, rotation, disabled
integration or narrowed role bumps. A request may then spend seconds before it writes (a
password hash, a lock wait). So the check is not left to the start of the request: each audit
event of a write carries the generation its request was authorised under
(`AuditEvent.authorised_generation`), and a trigger refuses the insert — and with it the
write's whole transaction — unless the generation still stands. On PostgreSQL it holds the
generation's row FOR SHARE until the write commits: a bump in progress is waited for and then
seen, and a bump that starts later waits for the write. Either the write commits before the
revocation does, or it commits nothing.

The refusal arrives as a database error; `refusals_as_authorisation_changed` turns it into
`AuthorisationChanged`, which is not a `DatabaseError`, so no `except DatabaseError` on the way
(a fallback path, the audit's own error handling) can mistake it for something else.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, connection

GENERATION_CHANGED = "KI001"  # a SQLSTATE of our own: no PostgreSQL error uses class KI
SQLITE_MESSAGE = "kestra_iam: the authorisation generation changed"


class AuthorisationChanged(Exception):
    """The request's authorisation was revoked or changed before its write could commit;
    nothing of the write was kept. Authenticate again and decide again."""


def is_refusal(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == GENERATION_CHANGED or SQLITE_MESSAGE in str(exc)


def _convert(execute, sql, params, many, context):
    try:
        return execute(sql, params, many, context)
    except DatabaseError as exc:
        if is_refusal(exc):
            raise AuthorisationChanged() from exc
        raise


@contextmanager
def refusals_as_authorisation_changed():
    """Around a request: every statement refused by a generation check raises
    AuthorisationChanged instead of a DatabaseError."""
    with connection.execute_wrapper(_convert):
        yield
