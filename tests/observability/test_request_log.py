"""LOG_FORMAT=json: one JSON line per SCIM request, with what an operator needs and nothing a
log must not hold (tokens, passwords, user names, query strings)."""

import json
import logging
from urllib.parse import quote

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from observability.logs import JsonFormatter
from scim import selectors
from tests.conftest import behind_transaction_pooler
from tests.observability.test_endpoints import METRICS_TOKEN, sample

SECRET_NAME = "very.private.person@example.com"
PASSWORD = "Sup3r-secret-passw0rd!"
FIELDS = {
    "time", "level", "logger", "message", "request_id", "tenant", "integration", "method",
    "route", "status", "duration_ms", "queries",
}  # fmt: skip


@pytest.fixture
def json_logs(settings, caplog):
    settings.LOG_FORMAT = "json"
    caplog.set_level(logging.INFO, logger="kestra_iam.requests")
    return caplog


def request_lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "kestra_iam.requests" and hasattr(record, "fields")
    ]


@pytest.mark.django_db
def test_one_line_per_request_with_its_route_and_query_count(scim, json_logs):
    user = scim.create_user("logged@example.com")["id"]
    json_logs.clear()
    with CaptureQueriesContext(connection) as queries:
        response = scim.get(f"/Users/{user}", HTTP_X_REQUEST_ID="trace-42")
    assert response.status_code == 200
    [line] = request_lines(json_logs)
    assert set(line) == FIELDS
    assert line["request_id"] == "trace-42"
    assert line["tenant"] == "main" and line["integration"] == str(scim.integration.pk)
    assert line["method"] == "GET" and line["route"] == "Users/{user_id}"
    assert line["status"] == 200 and line["duration_ms"] >= 0
    assert line["queries"] == len(queries) > 0


@pytest.mark.django_db
def test_refused_requests_are_logged_without_tenant_or_integration(scim, client, json_logs):
    client.get(scim.url("/Groups"))
    [line] = request_lines(json_logs)
    assert line["status"] == 401 and line["route"] == "Groups"
    assert line["tenant"] is None and line["integration"] is None and line["queries"] == 0


@pytest.mark.django_db
def test_no_token_password_user_name_or_query_string_is_logged(scim, json_logs):
    created = scim.create_user(SECRET_NAME, password=PASSWORD, emails=[{"value": SECRET_NAME}])
    filter_text = quote('userName eq "' + SECRET_NAME + '"')
    scim.get(f"/Users?filter={filter_text}")
    scim.get(f"/Users/{SECRET_NAME}")  # a client that puts a user name in the path
    scim.patch_ops(f"/Users/{created['id']}", {"op": "replace", "path": "password", "value": "x"})
    lines = request_lines(json_logs)
    routes = [line["route"] for line in lines]
    assert routes == ["Users", "Users", "Users/{user_id}", "Users/{user_id}"]
    everything = json_logs.text + json.dumps(lines)
    for secret in (SECRET_NAME, "very.private", PASSWORD, scim.token, "filter"):
        assert secret not in everything


@pytest.mark.django_db
def test_plain_logs_have_no_request_lines(scim, caplog):
    caplog.set_level(logging.INFO, logger="kestra_iam.requests")
    scim.get("/Users")
    assert request_lines(caplog) == []


def lose_the_database_connection() -> None:
    """Kill this process's database session from outside, or, through a pooler (whose server
    session is not ours to kill), drop the client connection."""
    if not behind_transaction_pooler():
        params = connection.get_connection_params()
        for key in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(key, None)
        with psycopg.connect(**params, autocommit=True) as killer:
            killer.execute(
                "SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid]
            )
    else:
        connection.connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_stream_cut_by_a_lost_connection_is_logged_and_counted_as_500(
    scim, settings, monkeypatch, json_logs
):
    settings.METRICS, settings.METRICS_TOKEN = "token", METRICS_TOKEN
    settings.SCIM = {**settings.SCIM, "stream_members_above": 1}
    monkeypatch.setattr(selectors, "STREAM_CHUNK", 2)
    members = [{"value": scim.create_user(f"m{n}@example.com")["id"]} for n in range(5)]
    group = scim.create_group("Streamed", members=members)["id"]
    integration = str(scim.integration.pk)
    failed_before = sample(
        "kestra_iam_scim_requests_total",
        integration=integration, method="GET", resource="Groups", status="500",
    )  # fmt: skip
    json_logs.clear()

    response = scim.get(f"/Groups/{group}")
    assert response.status_code == 200 and response.streaming
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b"{")  # the status line and the head are out
    lose_the_database_connection()
    with pytest.raises(DatabaseError):
        list(chunks)
    connection.close()

    [line] = request_lines(json_logs)
    assert line["status"] == 500 and line["error"].startswith("stream aborted: ")
    failed_after = sample(
        "kestra_iam_scim_requests_total",
        integration=integration, method="GET", resource="Groups", status="500",
    )  # fmt: skip
    assert failed_after == failed_before + 1
    assert scim.get(f"/Groups/{group}").status_code == 200  # the next request reconnects
