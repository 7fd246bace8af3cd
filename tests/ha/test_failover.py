"""Lose the PostgreSQL primary, lose no acknowledged write: the shipped Patroni cluster
(`deploy/ha/`) under Entra-shaped writes, through real processes.

Four clients create users and add them to groups, as Entra does, through gunicorn, whose
DATABASE_URL is HAProxy in front of three Patroni nodes in synchronous mode. Each experiment
takes the primary away mid-load — `kill -9` of the whole node, a planned switchover, a node that
stops answering (SIGSTOP) — and then checks, from the new primary, that every 201 and 204 is
there exactly once with its tenant access, membership and audit event; that every answer in the
gap was a 503 with Retry-After, in less than the worker timeout; that Entra's retry of a 503
(whose write may have committed) converges without a duplicate; and that writes resumed within
Patroni's ttl + loop_wait and a margin.

Runs once per CI run, with the suite on PostgreSQL (not through PgBouncer), and needs Debian's
patroni, etcd-server and haproxy, which `.ci/run` installs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psycopg
import pytest

from tests.ha.cluster import Cluster, missing_tools
from tests.ha.load import (
    GROUP,
    RESUME_WITHIN,
    App,
    assert_converged,
    assert_gap_answers,
    report,
    under_load,
)
from tests.processes import Gunicorn, integration_on_fresh_database, server_env

MISSING = missing_tools()
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        os.environ.get("DATABASE_TRANSACTION_POOLER", "").lower() in ("1", "true", "yes"),
        reason="the cluster is the same through PgBouncer: it runs in the direct PostgreSQL run",
    ),
]


@pytest.fixture(scope="module")
def cluster():
    if MISSING:
        if os.environ.get("KESTRA_IAM_HA_TEST") == "required":
            pytest.fail(f"the failover test must run here, but {', '.join(MISSING)} is missing")
        pytest.skip(f"needs {', '.join(MISSING)} (apt-get install patroni etcd-server haproxy)")
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def app(cluster, tmp_path_factory):
    directory = tmp_path_factory.mktemp("ha-app")
    env = server_env(
        directory,
        DATABASE_URL=cluster.url,
        DATABASE_CONN_MAX_AGE="60",
        SCIM_RATE_LIMIT="0",
    )
    base, token = integration_on_fresh_database(env)
    server = Gunicorn(env, directory / "gunicorn.log", workers=2).start()
    app = App(server, base, token, [])
    for name in ("Data Engineers", "Kestra Admins", "Viewers"):
        status, _, body, _ = app.call("POST", "/Groups", {"schemas": [GROUP], "displayName": name})
        assert status == 201, body
        app.groups.append(body["id"])
    yield app
    server.stop()


def test_kill_primary_loses_no_acknowledged_write(cluster, app):
    victim = cluster.leader()
    outcome = under_load(app, cluster, "kill", lambda: cluster.kill(victim))
    assert_gap_answers(outcome)
    assert 0 < outcome.gap < RESUME_WITHIN, outcome.gap
    assert cluster.leader() not in (None, victim)
    retried = assert_converged(app, cluster, outcome)
    report("kill -9 of the primary", outcome, retried)
    # The old primary comes back as a standby of the new one (pg_rewind if it must).
    cluster.start_node(victim)
    cluster.wait_healthy()


def test_switchover_loses_nothing_and_costs_seconds(cluster, app):
    outcome = under_load(app, cluster, "switchover", cluster.switchover)
    assert_gap_answers(outcome)
    assert outcome.gap < 15, outcome.gap
    retried = assert_converged(app, cluster, outcome)
    report("switchover", outcome, retried)
    cluster.wait_healthy()


def test_libpq_multi_host_follows_a_switchover(cluster, app, tmp_path_factory):
    """The alternative to HAProxy: DATABASE_URL names every node and libpq connects to the one
    that accepts writes (`target_session_attrs=read-write`)."""
    directory = tmp_path_factory.mktemp("ha-multi-host")
    env = {**app.server.env, "DATABASE_URL": cluster.multi_host_url}
    server = Gunicorn(env, directory / "gunicorn.log", workers=2).start()
    try:
        direct = App(server, app.base, app.token, app.groups)
        outcome = under_load(direct, cluster, "multi-host", cluster.switchover)
        assert_gap_answers(outcome)
        assert outcome.gap < 15, outcome.gap
        retried = assert_converged(direct, cluster, outcome)
        report("switchover, libpq multi-host", outcome, retried)
    finally:
        server.stop()
    cluster.wait_healthy()


def test_outages_are_logged_as_outages_not_tracebacks(cluster, app):
    """Two outages (kill -9, switchover), two workers, hundreds of 503s: a warning when each
    worker meets an outage and one when it ends — no traceback, no line per request."""
    log = app.server.output()
    assert "Traceback" not in log, log[-3000:]
    problems = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]
    started = [line for line in problems if "Database unavailable" in line]
    ended = [line for line in problems if "Database answers again" in line]
    assert 2 <= len(started) <= 2 * 2, problems[:20]
    assert len(ended) >= 2, problems[:20]
    assert len(problems) == len(started) + len(ended), problems[:20]


def test_idle_workers_reconnect_after_a_failover(cluster, app):
    """Workers that kept a connection to the old primary (DATABASE_CONN_MAX_AGE) notice it is
    gone before their next request uses it: no 503 for the first request after a failover."""
    for _ in range(20):  # every worker holds a kept connection to the current primary
        assert app.call("GET", "/Users?count=1")[0] == 200
    new_primary = cluster.switchover()
    cluster.wait_for(lambda: cluster.leader() is new_primary, 60, "the switchover")
    cluster.wait_for(lambda: _primary_through_haproxy(cluster), 30, "HAProxy to follow")
    statuses = [app.call("GET", "/Users?count=1")[0] for _ in range(20)]
    assert statuses == [200] * 20, statuses
    cluster.wait_healthy()


def _primary_through_haproxy(cluster: Cluster) -> bool:
    try:
        with psycopg.connect(cluster.url, connect_timeout=2) as db:
            return db.execute("SELECT NOT pg_is_in_recovery()").fetchone()[0]
    except psycopg.Error:
        return False


def test_primary_that_stops_answering_is_replaced(cluster, app):
    victim = cluster.leader()
    outcome = under_load(app, cluster, "freeze", lambda: cluster.freeze(victim))
    assert_gap_answers(outcome)  # nothing waits on the frozen node past the worker timeout
    assert 0 < outcome.gap < RESUME_WITHIN, outcome.gap
    retried = assert_converged(app, cluster, outcome)
    report("SIGSTOP of the primary", outcome, retried)
    # Woken up, it finds another node holds the leader key and demotes itself. How the
    # standbys come back after it is Patroni's, and twice in CI none was chosen as synchronous
    # for minutes (README): this experiment runs last but one, and the next needs no
    # synchronous standby.
    cluster.thaw(victim)


def test_asynchronous_replication_would_lose_acknowledged_writes(cluster, app):
    """Why the shipped cluster is synchronous: the same kill -9 with asynchronous replication
    and standbys 3 s behind loses writes that were answered 201. Runs last: it leaves the
    cluster with a diverged node."""
    status, _ = cluster.leader().rest(
        "/config", method="PATCH",
        body={"synchronous_mode": False, "synchronous_mode_strict": False},
    )  # fmt: skip
    assert status == 200
    cluster.wait_for(lambda: _synchronous_standby_names(cluster) == "", 60, "asynchronous mode")
    victim = cluster.leader()
    # The node thawed by the previous experiment may still be rejoining; a standby that
    # connects during the stall would get a WAL sender nobody stopped, catch up, and be
    # promoted with every write (CI saw 0 of 1,468 lost). Start with every standby streaming
    # when Patroni manages that, and stop any WAL sender that appears during the stall.
    _wait_for_streaming(cluster, standbys=len(cluster.nodes) - 1, timeout=60)

    def stall_then_kill():
        stopped: set[int] = set()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for pid in {pid for pid in victim.pids() if _is_walsender(pid)} - stopped:
                os.kill(pid, signal.SIGSTOP)  # this standby stops receiving WAL
                stopped.add(pid)
            time.sleep(0.05)
        assert stopped, "no WAL sender found on the primary"
        cluster.kill(victim)

    outcome = under_load(app, cluster, "async", stall_then_kill)
    created = {a.user_name for a in outcome.answers if a.kind == "create" and a.status == 201}
    with psycopg.connect(cluster.url, connect_timeout=5) as db:
        present = {row[0] for row in db.execute(
            "SELECT user_name FROM kestra_iam_user WHERE user_name = ANY(%s)", [sorted(created)]
        )}  # fmt: skip
    lost = created - present
    print(f"\nasynchronous, standbys 3 s behind, kill -9: {len(lost)} of {len(created)} users "
          f"answered 201 are gone; writes resumed after {outcome.gap:.1f} s")  # fmt: skip
    assert lost, "asynchronous replication lost nothing: the experiment did not stall the standbys"


def _is_walsender(pid: int) -> bool:
    try:
        return b"walsender" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _wait_for_streaming(cluster: Cluster, standbys: int, timeout: float) -> None:
    """Until the primary streams to that many standbys, or the timeout passes (a standby
    Patroni does not bring back is not this experiment's subject)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg.Error):
            with psycopg.connect(cluster.url, connect_timeout=2) as db:
                streaming = db.execute(
                    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                ).fetchone()[0]
            if streaming >= standbys:
                return
        time.sleep(0.5)


def _synchronous_standby_names(cluster: Cluster) -> str | None:
    """What the primary waits for before a commit returns ("" once asynchronous)."""
    try:
        with psycopg.connect(cluster.url, connect_timeout=2) as db:
            return db.execute("SHOW synchronous_standby_names").fetchone()[0]
    except psycopg.Error:
        return None
