"""What the SCIM API counts: requests by integration, method, resource and status, their
duration, refusals by reason, and requests in flight. Read from the process's registry, as
/metrics would show them."""

import pytest

from tests.observability.test_endpoints import METRICS_TOKEN, sample

pytestmark = pytest.mark.django_db

REQUESTS = "kestra_iam_scim_requests_total"


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.METRICS, settings.METRICS_TOKEN = "token", METRICS_TOKEN


def requests(integration="", method="GET", resource="Users", status="200") -> float:
    return sample(
        REQUESTS, integration=integration, method=method, resource=resource, status=status
    )


def test_requests_are_counted_by_integration_method_resource_and_status(scim):
    integration = str(scim.integration.pk)
    before = requests(integration)
    duration_count = sample(
        "kestra_iam_scim_request_duration_seconds_count", method="GET", resource="Users"
    )
    created_before = requests(integration, "POST", "Users", "201")
    for _ in range(3):
        assert scim.get("/Users").status_code == 200
    scim.create_user("counted@example.com")
    assert requests(integration) == before + 3
    assert requests(integration, "POST", "Users", "201") == created_before + 1
    assert (
        sample("kestra_iam_scim_request_duration_seconds_count", method="GET", resource="Users")
        == duration_count + 3
    )


def test_a_path_typed_by_the_client_never_becomes_a_label(scim, client):
    integration = str(scim.integration.pk)
    before = requests(integration, resource="Users", status="404")
    assert scim.get("/Users/alice@example.com").status_code == 404
    assert requests(integration, resource="Users", status="404") == before + 1
    exposed = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert exposed.status_code == 200 and b'resource="Users"' in exposed.content
    assert b"alice" not in exposed.content


def test_refused_tokens_are_counted_by_reason_without_an_integration(scim, other_scim, client):
    def failures(reason):
        return sample("kestra_iam_scim_auth_failures_total", reason=reason)

    counts = {r: failures(r) for r in ("no_bearer_token", "unknown_token", "other_integration")}
    unauthenticated = requests("", status="401")
    assert client.get(scim.url("/Users")).status_code == 401
    assert client.get(scim.url("/Users"), HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    other = f"Bearer {other_scim.token}"
    assert client.get(scim.url("/Users"), HTTP_AUTHORIZATION=other).status_code == 401
    assert failures("no_bearer_token") == counts["no_bearer_token"] + 1
    assert failures("unknown_token") == counts["unknown_token"] + 1
    assert failures("other_integration") == counts["other_integration"] + 1
    assert requests("", status="401") == unauthenticated + 3


def test_rate_limit_refusals_are_counted(scim, settings):
    from django.core.cache import caches

    caches["default"].clear()
    settings.SCIM = {**settings.SCIM, "rate_limit": (1, 60)}
    integration = str(scim.integration.pk)
    before = sample(
        "kestra_iam_scim_rate_limited_total", integration=integration, budget="requests"
    )
    assert [scim.get("/Users").status_code for _ in range(3)] == [200, 429, 429]
    after = sample("kestra_iam_scim_rate_limited_total", integration=integration, budget="requests")
    assert after == before + 2
    caches["default"].clear()


def test_an_unknown_method_is_counted_as_other(scim):
    integration = str(scim.integration.pk)
    before = requests(integration, method="other", status="405")
    response = scim.client.generic("BREW", scim.url("/Users"))
    assert response.status_code == 405
    assert requests(integration, method="other", status="405") == before + 1


def test_requests_in_flight_return_to_where_they_were(scim):
    before = sample("kestra_iam_http_requests_in_flight")
    scim.get("/Users")
    scim.get("/Groups")
    assert sample("kestra_iam_http_requests_in_flight") == before
