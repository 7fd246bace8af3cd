"""Second sessions on the suite's PostgreSQL database, for tests that act on the app's own
connection from outside: hold a lock against it, or end it as a restart or a failover would."""

from __future__ import annotations

import psycopg
from django.db import connection


def other_connection() -> psycopg.Connection:
    """A second, independent session on the test database."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.connect(**params, autocommit=False)


def terminate(where: str, params: list | tuple = ()) -> None:
    """`pg_terminate_backend` the sessions that `where` selects from pg_stat_activity."""
    killer = other_connection()
    try:
        killer.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {where}",  # noqa: S608
            params,
        )
        killer.commit()
    finally:
        killer.close()
