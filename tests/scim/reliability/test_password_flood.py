"""The reported attack against real gunicorn workers with the production password hasher: PATCH
bodies naming 150 passwords each, from three clients at once. Before the fix each request
hashed every one (~0.2-0.5 s each) and three of them took all three workers past gunicorn's
timeout. Now they are refused before any hash, the other tenant is served meanwhile, and the
password budget (which counts hashes) shows that none was made."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tests.processes import Gunicorn, manage, server_env

REDIS_URL = "redis://127.0.0.1:6379/12"
SCIM_JSON = "application/scim+json"
ATTACK = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "replace", "value": {"x": [{"password": f"Secret-{i}"} for i in range(150)]}}
    ],
}


def integration(env: dict, tenant: str) -> tuple[str, str]:
    manage(env, "tenant", "create", tenant)
    created = json.loads(
        manage(env, "integration", "create", "--tenant", tenant, "--name", "IdP", "--json")
    )
    return f"/api/v1/{tenant}/integrations/{created['id']}/scim/v2", created["token"]


def send(server: Gunicorn, base: str, token: str, method: str, path: str, body=None):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    payload = json.dumps(body).encode() if body is not None else None
    status, raw = server.request(method, base + path, body=payload, headers=headers, timeout=60)
    return status, json.loads(raw) if raw.startswith(b"{") else raw


@pytest.fixture
def shared_cache():
    cache = redis.Redis.from_url(REDIS_URL)
    cache.flushdb()
    yield
    cache.flushdb()


def test_a_flood_of_passwords_costs_no_hash_and_blocks_no_one(tmp_path, shared_cache):
    (tmp_path / "static").mkdir()
    env = server_env(
        tmp_path, CACHE_URL=REDIS_URL, SCIM_RATE_LIMIT="0", SCIM_PASSWORD_RATE_LIMIT="1/h"
    )
    manage(env, "migrate", "--noinput", "-v0")
    attacker, victim = integration(env, "attacker"), integration(env, "victim")
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=3).start()
    try:
        status, user = send(server, *attacker, "POST", "/Users", {"userName": "a@example.com"})
        assert status == 201
        target = f"/Users/{user['id']}"
        with ThreadPoolExecutor(max_workers=4) as pool:
            attacks = [
                pool.submit(send, server, *attacker, "PATCH", target, ATTACK) for _ in range(9)
            ]
            reads = [pool.submit(send, server, *victim, "GET", "/Users") for _ in range(9)]
            attacked = [future.result()[0] for future in attacks]
            served = [future.result()[0] for future in reads]
        assert attacked == [400] * 9 and served == [200] * 9
        # The budget is one hash an hour and counts hashes: the flood used none of it.
        one = {"op": "replace", "path": "password", "value": "Only-One-1"}
        patch = {"schemas": ATTACK["schemas"], "Operations": [one]}
        assert send(server, *attacker, "PATCH", target, patch)[0] == 200
        assert send(server, *attacker, "PATCH", target, patch)[0] == 429
    finally:
        server.stop()
    assert "WORKER TIMEOUT" not in server.output()
