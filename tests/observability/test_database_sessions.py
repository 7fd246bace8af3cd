"""What every PostgreSQL session must hold, directly or through PgBouncer in transaction mode:
bounded statements and lock waits, no prepared statements, and SCIM writes that wait for a
row lock only briefly."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_statements_and_lock_waits_are_bounded_in_every_session():
    """Set by the connection's startup options, or by the pooler's connect_query (README)."""
    assert setting("statement_timeout") == "20s"
    assert setting("lock_timeout") == "10s"


def test_no_statement_is_prepared_on_the_server():
    """A transaction-mode pooler gives the next transaction another server session, which
    would not know the statement."""
    assert connection.get_connection_params()["prepare_threshold"] is None


def test_scim_writes_of_existing_resources_bound_their_own_lock_waits(scim, settings):
    settings.SCIM = {**settings.SCIM, "lock_timeout_ms": 750}
    user = scim.create_user("bounded@example.com")["id"]
    group = scim.create_group("Bounded")["id"]
    for method, path, body in [
        ("patch", f"/Users/{user}", {"op": "replace", "path": "active", "value": False}),
        ("patch", f"/Groups/{group}", {"op": "add", "path": "members", "value": [{"value": user}]}),
        ("delete", f"/Groups/{group}", None),
        ("delete", f"/Users/{user}", None),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = scim.patch_ops(path, body) if method == "patch" else scim.delete(path)
        assert response.status_code in (200, 204), (method, path)
        statements = [query["sql"] for query in queries]
        # Sent with the transaction's first query (see kestra_iam.db.piggyback).
        bounded = [sql for sql in statements if sql.startswith("SET LOCAL lock_timeout = 750;")]
        assert len(bounded) == 1, (method, path)
