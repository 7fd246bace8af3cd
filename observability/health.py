"""Readiness: can this process serve requests now?

The database must answer within a short statement timeout and have every migration applied;
the shared cache may be down (the rate limit then fails open), which makes the process
"degraded", not unready. Bodies name checks and states only: no host names, no error texts.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import caches
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from observability.availability import DATABASE_OUTAGE, is_unavailable

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_MS = 2000
_migrations_applied = False  # once true, true for the life of the process (code cannot change)


def _timed(check) -> dict:
    started = time.perf_counter()
    result = check()
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def database() -> dict:
    try:
        if connection.vendor == "postgresql":
            # SET LOCAL, in a transaction: through a transaction-mode pooler a session setting
            # would stay on a server connection that another client gets next.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {PROBE_TIMEOUT_MS}")
                cursor.execute("SELECT 1")
        else:
            # No transaction on SQLite, whose transactions here take the write lock.
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception as exc:
        if is_unavailable(exc):
            DATABASE_OUTAGE.failed(exc)
        else:
            logger.warning("Readiness: database unavailable (%s)", type(exc).__name__)
        connection.close_if_unusable_or_obsolete()
        return {"status": "unavailable"}
    return {"status": "ok"}


def migrations() -> dict:
    global _migrations_applied
    if not _migrations_applied:
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:
            logger.warning("Readiness: migrations cannot be read (%s)", type(exc).__name__)
            return {"status": "unknown"}
        if pending:
            return {"status": "pending", "pending": len(pending)}
        _migrations_applied = True
    return {"status": "ok"}


def cache() -> dict:
    try:
        caches["default"].get("kestra-iam:readyz")
    except Exception as exc:
        logger.warning("Readiness: shared cache unavailable (%s)", type(exc).__name__)
        return {"status": "unavailable", "effect": "rate limits are not enforced"}
    return {"status": "ok"}


def readiness() -> tuple[int, dict]:
    """(HTTP status, body): 200 ready or degraded, 503 unready."""
    checks = {"database": _timed(database)}
    checks["migrations"] = (
        _timed(migrations) if checks["database"]["status"] == "ok" else {"status": "unknown"}
    )
    checks["cache"] = _timed(cache)
    if checks["database"]["status"] != "ok" or checks["migrations"]["status"] != "ok":
        return 503, {"status": "unready", "checks": checks}
    state = "ready" if checks["cache"]["status"] == "ok" else "degraded"
    return 200, {"status": state, "checks": checks}
