"""Two app servers (two gunicorns, two workers each), one PostgreSQL, one Redis: what one server
does, the other knows at once — the rate limit, a rotated token, a disabled integration — and
racing creates across both make one user. Then one stuck row lock, which must not take every
worker. Real processes; through PgBouncer when the suite runs through it."""

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from kestra_iam.models import User
from tests.processes import AdminSession, Gunicorn, manage, server_env, suite_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS_URL = "redis://127.0.0.1:6379/13"
ADMIN, ADMIN_PASSWORD = "ops", "a-long-admin-password-for-tests"
SCIM_JSON = "application/scim+json"


def shared_env(tmp_path, **overrides) -> dict:
    """The suite's database, and its secret key: the tokens the tests issue must verify."""
    return server_env(
        tmp_path,
        DATABASE_URL=suite_database_url(),
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        **overrides,
    )


@pytest.fixture
def start_servers(tmp_path, scim):
    """Start `count` gunicorns on the suite's database and one Redis database, emptied."""
    shared = redis.Redis.from_url(REDIS_URL)
    shared.flushdb()
    started: list[Gunicorn] = []

    def start(count: int = 2, workers: int = 2, **overrides) -> list[Gunicorn]:
        env = shared_env(tmp_path, CACHE_URL=REDIS_URL, **overrides)
        for n in range(count):
            started.append(Gunicorn(env, tmp_path / f"server{n}.log", workers=workers).start())
        return started

    yield start
    for server in started:
        server.stop()
    shared.flushdb()


def call(server: Gunicorn, scim, method: str, path: str, body=None, token=None) -> int:
    headers = {"Authorization": f"Bearer {token or scim.token}"}
    if body is not None:
        headers["Content-Type"] = SCIM_JSON
    payload = json.dumps(body).encode() if body is not None else None
    return server.request(method, scim.base + path, body=payload, headers=headers)[0]


def test_the_rate_limit_is_counted_once_across_servers(start_servers, scim):
    if time.time() % 3600 > 3540:
        time.sleep(3600 - time.time() % 3600 + 1)  # stay inside one hourly window
    a, b = start_servers(SCIM_RATE_LIMIT="10/h")
    statuses = [call(a, scim, "GET", "/Users") for _ in range(6)]
    statuses += [call(b, scim, "GET", "/Users") for _ in range(6)]
    assert statuses == [200] * 10 + [429] * 2


def test_a_token_rotated_or_an_integration_disabled_on_one_is_refused_by_the_other(
    start_servers, scim, tmp_path
):
    env = shared_env(tmp_path)
    manage(env, "collectstatic", "--noinput", "-v0")  # the admin's pages need their manifest
    manage(env, "createsuperuser", "--noinput", "--user_name", ADMIN)
    manage(env, "shell", "-c", _SET_PASSWORD)
    a, b = start_servers()
    old = scim.token
    assert {call(b, scim, "GET", "/Users") for _ in range(6)} == {200}  # B's workers know it
    admin = AdminSession(a, ADMIN, ADMIN_PASSWORD)
    change = f"/admin/provisioning/provisioningintegration/{scim.integration.pk}"
    status, _ = admin.post(f"{change}/rotate-token/", {"overlap_hours": "0"})
    assert status == 302  # post/redirect/get: the token is shown on the page redirected to
    status, page = admin.request("GET", admin.location)
    assert status == 200
    new = re.search(r"kiam_[A-Za-z0-9_-]{40,}", page)[0]
    assert {call(b, scim, "GET", "/Users", token=old) for _ in range(4)} == {401}
    assert {call(b, scim, "GET", "/Users", token=new) for _ in range(4)} == {200}

    status, _ = admin.post(f"{change}/toggle/", {})
    assert status == 302
    assert {call(b, scim, "GET", "/Users", token=new) for _ in range(4)} == {403}


_SET_PASSWORD = f"""
from kestra_iam.models import User
user = User.objects.get(user_name={ADMIN!r})
user.set_password({ADMIN_PASSWORD!r})
user.save()
"""


def test_racing_creates_across_servers_make_one_user(start_servers, scim):
    a, b = start_servers()
    names = ["Race@Example.com", "race@example.com", "RACE@example.COM"]
    jobs = [((a, b)[n % 2], names[n % 3]) for n in range(24)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(
            pool.map(lambda job: call(job[0], scim, "POST", "/Users", {"userName": job[1]}), jobs)
        )
    assert sorted(statuses) == [201] + [409] * 23
    assert User.objects.filter(user_name_key="race@example.com").count() == 1


def test_one_stuck_group_lock_leaves_the_workers_to_everyone_else(start_servers, scim):
    """A transaction holds one group's row for the whole test. Requests for that group are
    refused quickly (503, Retry-After); everyone else's requests keep their throughput."""
    [server] = start_servers(count=1, workers=3, SCIM_RATE_LIMIT="0")
    hot = scim.create_group("Hot")["id"]
    cold = scim.create_group("Cold")["id"]
    member = scim.create_user("member@example.com")["id"]

    def others() -> int:
        started, done = time.monotonic(), 0
        while time.monotonic() - started < 3:
            assert call(server, scim, "GET", "/Users?count=5") == 200
            assert call(server, scim, "PATCH", f"/Groups/{cold}", _rename("Cold")) == 204
            done += 2
        return done

    def hot_patches() -> list[tuple[int, float]]:
        results, started = [], time.monotonic()
        while time.monotonic() - started < 3:
            began = time.monotonic()
            status = call(server, scim, "PATCH", f"/Groups/{hot}", _add_member(member))
            results.append((status, time.monotonic() - began))
        return results

    def load() -> tuple[int, list[tuple[int, float]]]:
        """Three clients on the hot group, two on everything else, for 3 s."""
        with ThreadPoolExecutor(max_workers=5) as pool:
            hot_runs = [pool.submit(hot_patches) for _ in range(3)]
            done = sum(pool.map(lambda _: others(), range(2)))
            return done, [result for run in hot_runs for result in run.result()]

    baseline, unlocked = load()
    assert {status for status, _ in unlocked} == {204}
    holder = _lock_group(hot)
    try:
        during, refused = load()
    finally:
        holder.rollback()
        holder.close()
    assert {status for status, _ in refused} == {503}
    assert max(seconds for _, seconds in refused) < 2  # never the 10 s lock timeout
    assert during >= 0.5 * baseline, (during, baseline)
    assert call(server, scim, "PATCH", f"/Groups/{hot}", _add_member(member)) == 204


def _rename(name: str) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": name}],
    }


def _add_member(user_id: str) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
    }


def _lock_group(group_id: str) -> psycopg.Connection:
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    holder = psycopg.connect(**params, autocommit=False)
    holder.execute("SELECT 1 FROM kestra_iam_group WHERE id = %s FOR UPDATE", [group_id])
    return holder
