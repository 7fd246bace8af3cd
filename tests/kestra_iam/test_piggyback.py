"""Statements sent with the next query: one round trip, the query's results, errors in place."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from kestra_iam.db import piggyback
from kestra_iam.db.transactions import bounded_lock_waits
from kestra_iam.models import Tenant

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.postgres


def lock_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


@postgres_only
def test_a_queued_statement_rides_with_the_next_query_whose_rows_are_read(tenant):
    with transaction.atomic(), CaptureQueriesContext(connection) as context:
        piggyback.send_with_next_query("SET LOCAL lock_timeout = 1234")
        assert len(context) == 0  # nothing sent yet
        assert list(Tenant.objects.values_list("pk", flat=True)) == [tenant.pk]
        assert len(context) == 1 and context[0]["sql"].startswith("SET LOCAL lock_timeout")
        assert lock_timeout() == "1234ms"  # it ran, in this transaction


@postgres_only
def test_a_failing_queued_statement_fails_the_query_it_rode_with(tenant):
    with pytest.raises(DatabaseError), transaction.atomic():
        piggyback.send_with_next_query("SET LOCAL no_such_setting_anywhere = 1")
        Tenant.objects.update(name="changed")
    tenant.refresh_from_db()
    assert tenant.name != "changed"


@postgres_only
def test_what_a_scope_queued_and_did_not_send_is_not_sent_later():
    with bounded_lock_waits(4321):
        pass  # no query: the SET LOCAL was never sent
    with CaptureQueriesContext(connection) as context:
        Tenant.objects.exists()
    assert "lock_timeout" not in context[0]["sql"]


@postgres_only
def test_a_statement_left_queued_when_a_request_ends_is_logged_and_dropped(client, caplog):
    piggyback.send_with_next_query("SET lock_timeout = 4321")
    assert client.get("/healthz").status_code == 200  # a request that sends no query
    assert "queued for a query that never came; discarded: SET lock_timeout = 4321" in caplog.text
    with CaptureQueriesContext(connection) as context:
        Tenant.objects.exists()  # the next query goes alone
    assert "lock_timeout" not in context[0]["sql"]


def test_bounded_lock_waits_apply_to_the_first_query(tenant):
    with bounded_lock_waits(2500):
        Tenant.objects.select_for_update().get(pk=tenant.pk)
        if connection.vendor == "postgresql":
            assert lock_timeout() == "2500ms"


def test_statements_with_a_percent_sign_are_refused():
    with pytest.raises(ValueError, match="%"):
        piggyback.send_with_next_query("SELECT 1 % 2")


def test_elsewhere_a_queued_statement_runs_at_once():
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL sends it with the next query")
    with CaptureQueriesContext(connection) as context:
        piggyback.send_with_next_query("SELECT 1")
    assert [q["sql"] for q in context.captured_queries] == ["SELECT 1"]


@postgres_only
def test_wrappers_around_the_first_queued_statement_still_come_off_in_order(tenant):
    """`execute_wrapper()` pops the last wrapper when its block ends: a request's query counter
    must come off, not the piggyback's (which once piled the counters up until recursion)."""

    def counter(execute, sql, params, many, context):
        return execute(sql, params, many, context)

    connection.execute_wrappers[:] = [
        w for w in connection.execute_wrappers if w is not piggyback._send_pending
    ]
    before = list(connection.execute_wrappers)
    with transaction.atomic(), connection.execute_wrapper(counter):
        piggyback.send_with_next_query("SET LOCAL lock_timeout = 100")
        Tenant.objects.exists()
    assert counter not in connection.execute_wrappers
    assert [w for w in connection.execute_wrappers if w is not piggyback._send_pending] == before
