"""Transactions that survive the conflicts PostgreSQL resolves by aborting one side, and that
never wait long for a lock."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager

from django.db import DataError, IntegrityError, OperationalError, connection, transaction

from kestra_iam.db import piggyback
from observability.availability import is_unavailable
from observability.metrics import DATABASE_RETRIES

logger = logging.getLogger(__name__)

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout ran out, or NOWAIT found the row locked
QUERY_CANCELED = "57014"  # statement_timeout ran out

# SQLSTATEs worth one more try: the other transaction has finished by the time we retry.
TRANSIENT_SQLSTATES = {SERIALIZATION_FAILURE, DEADLOCK_DETECTED}
KINDS = {
    SERIALIZATION_FAILURE: "serialization",
    DEADLOCK_DETECTED: "deadlock",
    LOCK_NOT_AVAILABLE: "lock_timeout",
    QUERY_CANCELED: "statement_timeout",
}


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def is_transient(exc: BaseException) -> bool:
    return sqlstate(exc) in TRANSIENT_SQLSTATES


def is_lock_timeout(exc: BaseException) -> bool:
    return sqlstate(exc) == LOCK_NOT_AVAILABLE


def error_kind(exc: BaseException) -> str:
    """A short, bounded name for a database error (a metrics label)."""
    kind = KINDS.get(sqlstate(exc) or "")
    if kind:
        return kind
    if isinstance(exc, IntegrityError):
        return "integrity"
    if isinstance(exc, DataError):
        return "data"
    if is_unavailable(exc):
        return "connection"
    return "other"


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
                "Retrying %s after a transient conflict (%s)", function.__name__, sqlstate(exc)
            )
            DATABASE_RETRIES.labels(error_kind(exc)).inc()
            return function(*args, **kwargs)

    return wrapper


@contextmanager
def bounded_lock_waits(milliseconds: int | None):
    """A transaction (`atomic`) whose lock waits give up after `milliseconds` (PostgreSQL).

    `SET LOCAL` lasts until the transaction ends, so it holds through a transaction-mode
    pooler too; it travels with the transaction's first query (`kestra_iam.db.piggyback`), not in a
    round trip of its own. A lock wait that runs out raises OperationalError (LOCK_NOT_AVAILABLE).
    """
    with transaction.atomic():
        if not milliseconds or connection.vendor != "postgresql":
            yield
            return
        statement = f"SET LOCAL lock_timeout = {int(milliseconds)}"
        piggyback.send_with_next_query(statement)
        try:
            yield
        finally:
            piggyback.discard(statement)


class RecentlyLocked:
    """Rows whose lock a request recently gave up waiting for.

    For `seconds` afterwards, requests for the same row try its lock without waiting (NOWAIT):
    if the row is free they go ahead, if it is still held they are refused at once. A row held
    for a long time (a stuck transaction) then costs each request a round trip, not a worker
    blocked for the whole lock timeout. Per process, bounded in size.
    """

    def __init__(self, *, seconds: float = 5.0, size: int = 1024) -> None:
        self.seconds = seconds
        self.size = size
        self._until: OrderedDict[object, float] = OrderedDict()
        self._lock = threading.Lock()  # threaded workers share it

    def __contains__(self, key) -> bool:
        with self._lock:
            until = self._until.get(key)
            if until is not None and until < time.monotonic():
                del self._until[key]
                until = None
            return until is not None

    def add(self, key) -> None:
        with self._lock:
            self._until[key] = time.monotonic() + self.seconds
            self._until.move_to_end(key)
            while len(self._until) > self.size:
                self._until.popitem(last=False)
