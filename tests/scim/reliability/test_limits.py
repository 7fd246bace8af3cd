"""Limits: body size, PATCH size, filter complexity and the per-integration rate limit."""

import uuid
from urllib.parse import quote

import pytest
from django.core.cache import caches

from kestra_iam.models import Group

pytestmark = pytest.mark.django_db


def test_body_over_the_limit_is_413_and_the_limit_is_configurable(scim, settings):
    settings.SCIM = {**settings.SCIM, "max_body_bytes": 2048}
    small = scim.post("/Users", {"userName": "fits@example.com"})
    assert small.status_code == 201
    big = scim.post("/Users", {"userName": "big@example.com", "title": "x" * 2048})
    assert big.status_code == 413 and big.json()["scimType"] == "tooMany"
    assert "2048 bytes" in big.json()["detail"]


def test_too_many_operations(scim, settings):
    settings.SCIM = {**settings.SCIM, "max_operations": 3}
    user = scim.create_user("ops@example.com")
    operations = [{"op": "replace", "path": "title", "value": str(i)} for i in range(4)]
    response = scim.patch_ops(f"/Users/{user['id']}", *operations)
    assert response.status_code == 400 and response.json()["scimType"] == "tooMany"
    assert "title" not in scim.get(f"/Users/{user['id']}").json()


def test_too_many_members(scim, settings):
    settings.SCIM = {**settings.SCIM, "max_members": 5}
    group = scim.create_group("Big")["id"]
    members = [{"value": str(uuid.uuid4())} for _ in range(6)]
    response = scim.patch_ops(
        f"/Groups/{group}", {"op": "add", "path": "members", "value": members}
    )
    assert response.status_code == 400 and response.json()["scimType"] == "tooMany"


def test_ten_thousand_and_one_members_with_the_default_limit(scim):
    group = scim.create_group("Huge")["id"]
    members = [{"value": str(uuid.uuid4())} for _ in range(10_001)]
    response = scim.patch_ops(
        f"/Groups/{group}", {"op": "add", "path": "members", "value": members}
    )
    assert response.status_code == 400 and response.json()["scimType"] == "tooMany"


@pytest.mark.parametrize(
    "filter_text",
    [
        "(" * 30 + 'userName eq "a"' + ")" * 30,
        " or ".join(f'userName eq "{i}"' for i in range(51)),
        'userName eq "' + "x" * 4100 + '"',
        "not (" * 25 + 'userName eq "a"' + ")" * 25,
    ],
    ids=["deep", "wide", "long", "deep-not"],
)
def test_filters_beyond_the_bounds_are_invalid_filter(scim, filter_text):
    response = scim.get(f"/Users?filter={quote(filter_text)}")
    assert response.status_code == 400 and response.json()["scimType"] == "invalidFilter"


@pytest.fixture
def fresh_cache():
    caches["default"].clear()
    yield
    caches["default"].clear()


def test_rate_limit_answers_429_with_retry_after(scim, settings, fresh_cache):
    settings.SCIM = {**settings.SCIM, "rate_limit": (3, 60)}
    statuses = [scim.get("/Users").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = scim.get("/Users")
    assert limited.json()["status"] == "429"
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_the_limit_is_per_integration(scim, other_scim, settings, fresh_cache):
    settings.SCIM = {**settings.SCIM, "rate_limit": (2, 60)}
    assert [scim.get("/Users").status_code for _ in range(3)] == [200, 200, 429]
    assert other_scim.get("/Users").status_code == 200


def test_a_limit_of_zero_switches_it_off(scim, settings, fresh_cache):
    settings.SCIM = {**settings.SCIM, "rate_limit": (0, 1)}
    assert {scim.get("/Users").status_code for _ in range(20)} == {200}


def test_a_broken_cache_lets_requests_through(scim, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    settings.SCIM = {**settings.SCIM, "rate_limit": (1, 60)}
    assert [scim.get("/Users").status_code for _ in range(3)] == [200, 200, 200]


def test_rate_limit_through_redis(scim, settings):
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379 (start it with redis-server)")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.SCIM = {**settings.SCIM, "rate_limit": (2, 60)}
    assert [scim.get("/Users").status_code for _ in range(3)] == [200, 200, 429]


def test_rejections_leave_no_trace(scim, settings):
    settings.SCIM = {**settings.SCIM, "max_body_bytes": 1024}
    scim.post("/Groups", {"displayName": "x" * 2000})
    assert not Group.objects.exists()
