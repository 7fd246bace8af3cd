"""/healthz, /readyz and /metrics, in the process: answers, protection, and what they leave out
(authentication, host checks, redirects, the audit trail, the rate limit)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from kestra_iam.models import AuditEvent

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "metrics-" + "t" * 40


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_healthz_answers_without_the_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"
    assert len(queries) == 0


def test_readyz_checks_database_migrations_and_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "migrations": "ok",
        "cache": "ok",
    }


def test_probes_ignore_host_checks_and_the_https_redirect(client, settings):
    """Load balancers probe by IP address over plain HTTP."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="10.0.0.7").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.7").status_code == 200
    assert client.get("/admin/", HTTP_HOST="10.0.0.7").status_code == 400  # everything else


def test_an_unreachable_cache_is_degraded_not_unready(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "unavailable"
    assert "127.0.0.1" not in response.content.decode()  # nothing about the infrastructure


def test_probes_are_neither_audited_nor_rate_limited(client, scim, settings):
    settings.SCIM = {**settings.SCIM, "rate_limit": (1, 60)}
    events = AuditEvent.objects.count()
    statuses = {client.get(path).status_code for path in ["/readyz", "/healthz"] * 20}
    assert statuses == {200}
    assert AuditEvent.objects.count() == events


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_behind_a_bearer_token(client, settings):
    settings.METRICS, settings.METRICS_TOKEN = "token", METRICS_TOKEN
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=METRICS_TOKEN).status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"kestra_iam_scim_requests_total" in response.content


def test_metrics_in_listen_mode_are_not_on_the_public_port(client, settings):
    settings.METRICS = "listen"
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 404


def test_readyz_body_is_json_with_timings(client):
    body = json.loads(client.get("/readyz").content)
    assert all(isinstance(check["ms"], float) for check in body["checks"].values())
