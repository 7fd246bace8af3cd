"""Is the database there? Which errors mean "unavailable" — the server is gone, restarting,
failing over or read-only — as opposed to a refusal of this request's statement, and the log of
an outage (`observability.outages`): one line when a worker meets it, one a minute, one when a
connection works again.

An unavailable database is a 503 with Retry-After wherever it is met (the SCIM API, the decision
API, readiness); a write that met it may still have committed — its commit can have been waiting
on the synchronous standby when the primary died — so clients retry it by looking up first
(Entra does), which converges on one result (README "High availability").
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError

from observability.outages import OutageLog

logger = logging.getLogger(__name__)

# SQLSTATEs of a server that cannot serve anyone right now: class 08 (connection exceptions),
# an administrator's or a crash's shutdown, a server still starting or in recovery, and a
# read-only transaction (a connection that reached a standby, or a primary being demoted).
UNAVAILABLE_CLASSES = ("08",)
UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "25006"}

DATABASE_OUTAGE = OutageLog(
    logger,
    started="Database unavailable (%s); requests that need it are answered 503 with "
    "Retry-After until it answers again.",
    lasting="Database still unavailable after %.0f s (%s).",
    ended="Database answers again after %.0f s.",
)


def log_database_error(exc: DatabaseError, log: logging.Logger, *, serving: str) -> None:
    """How an API logs the database error it answers with a 503: an outage as the outage it is,
    a statement the server refused (a timeout, a conflict that outlived its retry) as one
    warning line, anything else with its traceback."""
    if is_unavailable(exc):
        DATABASE_OUTAGE.failed(exc)
    elif isinstance(exc, OperationalError):
        state = getattr(exc.__cause__, "sqlstate", None)
        log.warning("Database refused a statement while %s (SQLSTATE %s)", serving, state)
    else:
        log.exception("Database error while %s", serving)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):  # the connection is closed or unusable
        return True
    if not isinstance(exc, DatabaseError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    if state is None:  # no answer from a server at all: refused, reset, timed out
        return isinstance(exc, OperationalError)
    return state.startswith(UNAVAILABLE_CLASSES) or state in UNAVAILABLE_SQLSTATES
