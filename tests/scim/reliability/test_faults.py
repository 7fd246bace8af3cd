"""Database trouble: 503 with Retry-After (or one transparent retry), never a partial write."""

import pytest
from django.db import OperationalError, connection

from kestra_iam.models import GroupMembership
from scim.services import groups as services
from tests.sessions import other_connection, terminate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.postgres
def test_a_lock_held_elsewhere_gives_503_and_changes_nothing(scim):
    user = scim.create_user("locked@example.com")["id"]
    group = scim.create_group("Locked")["id"]
    blocker = other_connection()
    try:
        blocker.execute("SELECT 1 FROM kestra_iam_group WHERE id = %s FOR UPDATE", [group])
        response = scim.patch_ops(
            f"/Groups/{group}",
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": user}]},
        )
        assert response.status_code == 503
        assert response.json()["status"] == "503"
        assert int(response["Retry-After"]) >= 1
    finally:
        blocker.rollback()
        blocker.close()
    assert scim.get(f"/Groups/{group}").json()["displayName"] == "Locked"
    assert not GroupMembership.objects.exists()
    retried = scim.patch_ops(
        f"/Groups/{group}", {"op": "add", "path": "members", "value": [{"value": user}]}
    )
    assert retried.status_code == 204


@pytest.mark.postgres
def test_a_lost_connection_gives_503_and_the_next_request_works(scim, pooled, caplog):
    if pooled:
        pytest.skip("behind a pooler the server connection is the pooler's: see the next test")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    terminate("pid = %s", [pid])
    response = scim.post("/Users", {"userName": "lost@example.com"})
    assert response.status_code == 503 and "Retry-After" in response
    assert scim.get("/Users").status_code == 503  # the same dead connection
    connection.close()  # what Django does at the end of a real request with a broken connection
    assert scim.post("/Users", {"userName": "lost@example.com"}).status_code == 201
    # The outage in the log: a line when it starts and one when a connection works again —
    # not a traceback (from the refusal's audit event, which could not be stored either), and
    # not Django's "Service Unavailable" line per request.
    assert [r.getMessage().split(" (")[0] for r in caplog.records if r.levelno >= 30] == [
        "Database unavailable",
        "Database answers again after 0 s.",
    ]
    assert not [record for record in caplog.records if record.exc_info]


@pytest.mark.postgres
def test_behind_a_pooler_lost_server_connections_are_replaced(scim, pooled):
    """PgBouncer notices a server connection that died between transactions and opens another:
    the client never sees it."""
    if not pooled:
        pytest.skip("needs PgBouncer (DATABASE_TRANSACTION_POOLER=true)")
    scim.create_user("before@example.com")
    terminate("datname = current_database() AND pid <> pg_backend_pid()")
    assert scim.post("/Users", {"userName": "after@example.com"}).status_code == 201


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_deadlock_is_retried_once_transparently(scim, monkeypatch):
    user = scim.create_user("retry@example.com")["id"]
    group = scim.create_group("Retry")["id"]
    original = services._apply_member_changes
    calls = []

    def deadlock_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from _Deadlock()
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_apply_member_changes", deadlock_once)
    response = scim.patch_ops(
        f"/Groups/{group}",
        {"op": "replace", "path": "displayName", "value": "Retried"},
        {"op": "add", "path": "members", "value": [{"value": user}]},
    )
    assert response.status_code == 204 and len(calls) == 2
    body = scim.get(f"/Groups/{group}").json()
    assert body["displayName"] == "Retried" and [m["value"] for m in body["members"]] == [user]


def test_a_second_deadlock_is_503_with_nothing_written(scim, monkeypatch):
    group = scim.create_group("Stuck")["id"]

    def always(*args, **kwargs):
        raise OperationalError("deadlock detected") from _Deadlock()

    monkeypatch.setattr(services, "_apply_member_changes", always)
    response = scim.patch_ops(
        f"/Groups/{group}", {"op": "replace", "path": "displayName", "value": "Half"}
    )
    assert response.status_code == 503 and response["Retry-After"]
    assert scim.get(f"/Groups/{group}").json()["displayName"] == "Stuck"
