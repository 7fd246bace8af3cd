"""Statements that travel with the next query instead of in a round trip of their own.

Django's PostgreSQL cursor binds parameters on the client, so statements separated by `;` reach
the server as one message. A statement queued here — a `SET LOCAL` at the start of a
transaction, say — is sent in front of the next query the connection runs, and its result is
skipped, so the caller reads the query's own results as usual. If it fails, the query does not
run and its error is raised where the query was. On other databases (SQLite) it runs at once.

Whoever queues a statement removes it when its scope ends (`discard`) or sends it alone
(`flush`), so a statement meant for one transaction can never ride along with a query of the next.
A request that ends with a statement still queued broke that rule: `discard_leftovers` (run when
every request finishes) logs it and drops it, so that it never rides with the next request's query.
"""

from __future__ import annotations

import logging

from django.db import connections

logger = logging.getLogger(__name__)

_PENDING = "_kestra_iam_piggyback"


def send_with_next_query(sql: str, using: str = "default") -> None:
    """Run `sql` (a fixed statement without parameters or results) with the next query."""
    if "%" in sql:
        raise ValueError("a piggybacked statement cannot contain '%': it joins a bound query")
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql)
        return
    connection.__dict__.setdefault(_PENDING, []).append(sql)
    if _send_pending not in connection.execute_wrappers:
        # First in the list, so outermost, and never in the way of `execute_wrapper()`, which
        # removes the last wrapper when its block ends, whatever was added meanwhile.
        connection.execute_wrappers.insert(0, _send_pending)


def discard(sql: str, using: str = "default") -> None:
    """Forget `sql` if it is still queued (the scope it was meant for is over)."""
    pending = connections[using].__dict__.get(_PENDING)
    if pending and sql in pending:
        pending.remove(sql)


def flush(using: str = "default") -> None:
    """Send what is queued now, in a round trip of its own (no query came to carry it)."""
    pending = connections[using].__dict__.pop(_PENDING, None)
    if pending:
        with connections[using].cursor() as cursor:
            cursor.execute(";\n".join(pending))


def discard_leftovers(**kwargs) -> None:
    """`request_finished`: drop what a request left queued, saying so (it is a bug where it
    was queued)."""
    for connection in connections.all(initialized_only=True):
        pending = connection.__dict__.pop(_PENDING, None)
        if pending:
            logger.warning(
                "A request ended with statement(s) queued for a query that never came; "
                "discarded: %s",
                "; ".join(pending),
            )


def _send_pending(execute, sql, params, many, context):
    pending = context["connection"].__dict__.pop(_PENDING, None)
    if not pending or many:
        if pending:
            context["connection"].__dict__[_PENDING] = pending  # executemany: keep for the next
        return execute(sql, params, many, context)
    result = execute(";\n".join([*pending, sql]), params, many, context)
    cursor = context["cursor"]
    for _ in pending:
        cursor.nextset()
    return result
