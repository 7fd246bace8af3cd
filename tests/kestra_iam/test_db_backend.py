"""The PostgreSQL backend's health check: a kept connection that the server closed (a restart,
a failover, a proxy) is replaced before a request uses it, and a healthy one is kept — without
a query either way."""

import time

import pytest
from django.db import connections

from tests.sessions import other_connection, terminate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def kept(pooled):
    """A second connection of the app's own kind, health checks on, as at a request's start."""
    if pooled:
        pytest.skip("behind a pooler the server session is the pooler's, shared and replaced by it")
    wrapper = connections.create_connection("default")
    wrapper.settings_dict = {
        **wrapper.settings_dict,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
    yield wrapper
    wrapper.close()


def last_query(pid: int) -> str:
    observer = other_connection()
    try:
        row = observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return (row.fetchone() or [""])[0]
    finally:
        observer.close()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() /* marker */")
        return cursor.fetchone()[0]


def start_of_request(wrapper) -> None:
    wrapper.close_if_unusable_or_obsolete()  # request_started: the check is due again
    wrapper.close_if_health_check_failed()  # what the request's first query runs first


def test_a_healthy_kept_connection_is_kept_without_a_query(kept):
    pid = backend_pid(kept)
    start_of_request(kept)
    assert kept.connection is not None
    assert "marker" in last_query(pid)  # Django's own check would have sent SELECT 1
    assert backend_pid(kept) == pid


def test_a_connection_the_server_closed_is_replaced_before_it_is_used(kept):
    pid = backend_pid(kept)
    terminate("pid = %s", [pid])
    time.sleep(0.2)  # the server's FATAL reaches the socket
    start_of_request(kept)
    assert kept.connection is None  # closed by the check: the next query opens a new one
    assert backend_pid(kept) != pid
