"""Operations under the real gunicorn: metrics summed across workers (also across a worker that
died), the separate metrics address, JSON logs end to end, and a graceful shutdown that lets an
in-flight write finish. Each server has a SQLite database of its own."""

import json
import os
import signal
import sqlite3
import threading
import time

import pytest

from tests.processes import Gunicorn, free_port, integration_on_fresh_database, server_env

METRICS_TOKEN = "m" * 40


def scim_get(server: Gunicorn, base: str, token: str, path: str = "/Users") -> int:
    return server.get(base + path, headers={"Authorization": f"Bearer {token}"})[0]


def metric(text: str, name: str, **labels) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, _, value = line.rpartition(" ")
        if all(f'{key}="{wanted}"' in series for key, wanted in labels.items()):
            total += float(value)
    return total


def post_user(server: Gunicorn, base: str, token: str, user_name: str, result=None) -> None:
    status, _ = server.request(
        "POST",
        base + "/Users",
        body=json.dumps({"userName": user_name}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        timeout=30,
    )
    if result is not None:
        result["status"] = status


@pytest.fixture
def environment(tmp_path):
    (tmp_path / "static").mkdir()
    env = server_env(tmp_path, SCIM_RATE_LIMIT="0")
    base, token = integration_on_fresh_database(env)
    return env, base, token


def test_metrics_add_up_every_worker_even_one_that_died(tmp_path, environment):
    env, base, token = environment
    directory = tmp_path / "metrics"
    env = {**env, "METRICS": "token", "METRICS_TOKEN": METRICS_TOKEN}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=3).start()
    try:
        assert {scim_get(server, base, token) for _ in range(20)} == {200}
        killed = server.worker_pids()[0]
        os.kill(killed, signal.SIGKILL)
        time.sleep(2)  # gunicorn replaces it
        assert {scim_get(server, base, token) for _ in range(10)} == {200}
        status, body = server.get("/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    finally:
        server.stop()
    assert status == 200
    text = body.decode()
    assert metric(text, "kestra_iam_scim_requests_total", resource="Users", status="200") == 30
    writers = {path.stem.rsplit("_", 1)[-1] for path in directory.glob("counter_*.db")}
    assert len(writers) >= 2 and str(killed) in writers  # the dead worker's counts are in


def test_a_worker_killed_mid_request_leaves_nothing_in_flight(tmp_path, environment):
    env, base, token = environment
    env = {**env, "METRICS": "token", "METRICS_TOKEN": METRICS_TOKEN}
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=1).start()
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    database = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    try:
        database.execute("BEGIN IMMEDIATE")  # the POST below waits in the worker
        writer = threading.Thread(target=post_user, args=(server, base, token, "stuck@x.io"))
        writer.start()
        time.sleep(1)
        [worker] = server.worker_pids()
        os.kill(worker, signal.SIGKILL)
        database.execute("ROLLBACK")
        writer.join(timeout=30)
        deadline = time.monotonic() + 20
        while server.get("/metrics", auth)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)  # the replacement worker is booting
        in_flight = metric(
            server.get("/metrics", auth)[1].decode(), "kestra_iam_http_requests_in_flight"
        )
    finally:
        database.close()
        server.stop()
    assert in_flight == 0


def test_metrics_on_their_own_address_need_no_token(tmp_path, environment):
    env, base, token = environment
    address = f"127.0.0.1:{free_port()}"
    env = {**env, "METRICS": "listen", "METRICS_ADDRESS": address}
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2).start()
    try:
        assert scim_get(server, base, token) == 200
        metrics_port = Gunicorn(env, tmp_path / "unused.log", port=int(address.split(":")[1]))
        status, body = metrics_port.get("/metrics")
        public_status, _ = server.get("/metrics")
    finally:
        server.stop()
    assert status == 200 and b"kestra_iam_scim_requests_total{" in body
    assert public_status == 404


def test_json_logs_from_gunicorn_and_the_app_are_one_object_per_line(tmp_path, environment):
    env, base, token = environment
    server = Gunicorn({**env, "LOG_FORMAT": "json"}, tmp_path / "gunicorn.log").start()
    try:
        assert scim_get(server, base, token, "/Users?filter=userName%20eq%20%22x%40y.z%22") == 200
        assert scim_get(server, base, "wrong-token") == 401
    finally:
        server.stop()
    output = server.output()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests = [line for line in lines if line["logger"] == "kestra_iam.requests"]
    assert [(r["route"], r["status"]) for r in requests] == [("Users", 200), ("Users", 401)]
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # gunicorn's own, in JSON
    assert token not in output and "x@y.z" not in output and "wrong-token" not in output


def test_sigterm_lets_an_in_flight_write_finish(tmp_path, environment):
    env, base, token = environment
    server = Gunicorn(env, tmp_path / "gunicorn.log").start()
    assert scim_get(server, base, token) == 200
    database = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    database.execute("BEGIN IMMEDIATE")  # the write below waits for this lock
    result = {}
    writer = threading.Thread(
        target=post_user, args=(server, base, token, "graceful@example.com", result)
    )
    writer.start()
    time.sleep(1)  # the request is in the worker, waiting for the database
    server.signal(signal.SIGTERM)
    time.sleep(1)
    refused_meanwhile = server.get("/healthz", timeout=2)[0]
    database.execute("ROLLBACK")
    writer.join(timeout=30)
    assert server.process.wait(timeout=30) == 0
    database.close()
    assert result["status"] == 201
    assert refused_meanwhile == 0  # no new connections once shutdown began
    stored = sqlite3.connect(tmp_path / "db.sqlite3")
    names = [row[0] for row in stored.execute("SELECT user_name FROM kestra_iam_user")]
    stored.close()
    assert "graceful@example.com" in names
