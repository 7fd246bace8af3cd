"""A Redis that hangs (SIGSTOP: connections open, no answers) must not stall provisioning: the
rate limit fails open within the cache timeout, the outage is logged once per worker rather
than once per request, and /readyz and the metrics show it. A private redis-server, a real
gunicorn with two workers."""

import shutil
import signal
import subprocess
import time

import pytest
import redis

from tests.observability.test_gunicorn import METRICS_TOKEN, metric, scim_get
from tests.processes import Gunicorn, free_port, integration_on_fresh_database, server_env

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary")


@pytest.fixture
def frozen_redis(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    yield port, process
    process.send_signal(signal.SIGCONT)
    process.terminate()
    process.wait(timeout=10)


def test_a_frozen_cache_costs_milliseconds_and_one_log_line_per_worker(tmp_path, frozen_redis):
    port, redis_process = frozen_redis
    (tmp_path / "static").mkdir()
    env = server_env(
        tmp_path,
        CACHE_URL=f"redis://127.0.0.1:{port}/0",
        SCIM_RATE_LIMIT="1000/10s",
        METRICS="token",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    base, token = integration_on_fresh_database(env)
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2).start()
    try:
        assert {scim_get(server, base, token) for _ in range(10)} == {200}
        redis_process.send_signal(signal.SIGSTOP)
        durations = []
        for _ in range(40):
            started = time.monotonic()
            assert scim_get(server, base, token) == 200
            durations.append(time.monotonic() - started)
        status, body = server.get("/readyz")
        readiness = body.decode()
        metrics = server.get("/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})[1].decode()

        redis_process.send_signal(signal.SIGCONT)
        time.sleep(5.5)  # past the pause after which the cache is tried again
        assert {scim_get(server, base, token) for _ in range(6)} == {200}
    finally:
        server.stop()
    output = server.output()

    assert max(durations) < 0.5, durations  # the socket timeout is 50 ms
    assert sum(durations) < 4, sum(durations)  # before: ~15 s per request
    assert status == 200 and '"degraded"' in readiness
    failures = metric(metrics, "kestra_iam_cache_failures_total")
    assert 1 <= failures <= 4  # one per worker per 5 s pause, not one per request
    assert metric(metrics, "kestra_iam_cache_bypassed_total") >= 40 - failures
    assert 1 <= output.count("Rate-limit cache unavailable") <= 2  # once per worker
    assert "Traceback" not in output
    assert output.count("Rate-limit cache answers again") >= 1
