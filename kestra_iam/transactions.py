"""Transactions that survive the conflicts PostgreSQL resolves by aborting one side."""

from __future__ import annotations

import functools
import logging

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

# SQLSTATEs worth one more try: the other transaction has finished by the time we retry.
TRANSIENT_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
}


def is_transient(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES


def retry_once_on_conflict(function):
    """Run a service that owns its transaction again, once, after a deadlock or a
    serialization failure. Nothing of the failed attempt was committed, so a retry is safe;
    a second failure propagates (the API answers 503 with Retry-After)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except OperationalError as exc:
            if not is_transient(exc) or connection.in_atomic_block:
                raise
            logger.info(
                "Retrying %s after a transient conflict (%s)",
                function.__name__,
                exc.__cause__.sqlstate,
            )
            return function(*args, **kwargs)

    return wrapper
