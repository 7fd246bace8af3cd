"""The decision API: answers with why, who may ask, and a clear error for every bad input."""

import pytest

from kestra_iam.models import Binding, Role
from kestra_iam.rbac.services import service_account_create
from kestra_iam.services import api_token_issue, api_token_revoke_all
from tests.conftest import token_client
from tests.factories import GroupFactory, GroupMembershipFactory, TenantAccessFactory, UserFactory

pytestmark = pytest.mark.django_db

CHECKS = "/api/v1/main/access/checks"


@pytest.fixture
def alice(tenant):
    """Alice, in Data Engineers, which holds Editor on company.data."""
    access = TenantAccessFactory(tenant=tenant, user=UserFactory(user_name="alice@example.com"))
    group = GroupFactory(tenant=tenant, display_name="Data Engineers")
    GroupMembershipFactory(group=group, access=access)
    Binding.objects.create(
        tenant=tenant, role=Role.objects.get(tenant=tenant, name="Editor"), group=group,
        namespace="company.data",
    )  # fmt: skip
    return access.user


def check(subject: dict, permission: str, namespace: str | None = None) -> dict:
    item = {"subject": subject, "permission": permission}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def test_a_batch_answers_each_check_with_why(platform, alice, django_assert_max_num_queries):
    body = {
        "checks": [
            check({"userName": "ALICE@example.com"}, "FLOWS:UPDATE", "company.data.etl"),
            check({"user": str(alice.pk)}, "FLOWS:DELETE", "company.data.etl"),
            check({"userName": "alice@example.com"}, "flow:read", "company.database"),
            check({"userName": "nobody@example.com"}, "FLOWS:READ"),
        ]
    }
    platform.post(CHECKS, body, format="json")  # records the token's first use (once a minute)
    # authentication (the token), the users, the service accounts (the caller), every grant
    with django_assert_max_num_queries(4):
        response = platform.post(CHECKS, body, format="json")
    assert response.status_code == 200, response.content
    first, second, third, fourth = response.json()["results"]
    assert first["allowed"] is True and first["subject"]["userName"] == "alice@example.com"
    (reason,) = first["reasons"]
    assert reason["source"] == "group" and reason["group"]["displayName"] == "Data Engineers"
    assert (reason["role"]["name"], reason["namespace"]) == ("Editor", "company.data")
    assert second["allowed"] is False and second["denial"]["code"] == "not_granted"
    assert third["permission"] == "FLOWS:READ" and third["allowed"] is False
    assert fourth["subject"] is None and fourth["denial"]["code"] == "unknown_subject"


def test_permissions_and_namespaces_of_a_subject(platform, alice):
    held = platform.get("/api/v1/main/access/permissions", {"userName": "alice@example.com"})
    assert held.status_code == 200
    entries = {(e["namespace"], e["permission"]) for e in held.json()["permissions"]}
    assert ("company.data", "FLOWS:UPDATE") in entries and (
        "company.data",
        "SECRETS:READ",
    ) in entries
    assert not any(p == "FLOWS:DELETE" for _, p in entries)
    where = platform.get(
        "/api/v1/main/access/namespaces", {"user": str(alice.pk), "permission": "FLOWS:UPDATE"}
    ).json()
    assert (where["tenantWide"], where["namespaces"]) == (False, ["company.data"])
    missing = platform.get("/api/v1/main/access/permissions", {"userName": "zoe@example.com"})
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_subject"


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"checks": []}, "checks", "may not be empty"),
        ({}, "checks", "required"),
        ({"checks": [check({}, "FLOWS:READ")]}, "checks[0].subject", "exactly one of"),
        (
            {"checks": [check({"user": "a", "userName": "b"}, "FLOWS:READ")]},
            "checks[0].subject",
            "exactly one of",
        ),
        (
            {"checks": [check({"userName": "a"}, "FLOWS")]},
            "checks[0].permission",
            "RESOURCE:ACTION",
        ),
        ({"checks": [check({"userName": "a"}, "WORKERS:READ")]}, "checks[0].permission", "Unknown"),
        (
            {"checks": [check({"userName": "a"}, "FLOWS:READ", "Bad..Name")]},
            "checks[0].namespace",
            "is not a namespace",
        ),
        (
            {
                "checks": [
                    check({"userName": "a"}, "FLOWS:READ"),
                    check({"userName": "a"}, "USERS:READ", "a.b"),
                ]
            },
            "checks[1].namespace",
            "tenant as a whole",
        ),
        ({"checks": [check({"userName": "a"}, "FLOWS:READ")] * 1001}, "checks", "1000"),
        ({"checks": "all"}, "checks", "list"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(platform, body, field, message):
    response = platform.post(CHECKS, body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors and message in " ".join(errors[field]), errors


def test_malformed_json_and_other_methods(platform):
    garbage = platform.post(CHECKS, "{not json", content_type="application/json")
    assert (garbage.status_code, garbage.json()["code"]) == (400, "invalid_json")
    assert platform.get(CHECKS).status_code == 405
    assert platform.put(CHECKS, {}, format="json").json()["code"] == "method_not_allowed"


def test_who_may_ask(tenant, other_tenant, platform_token, alice):
    body = {"checks": [check({"userName": "alice@example.com"}, "FLOWS:READ")]}
    assert token_client(platform_token).post(CHECKS, body, format="json").status_code == 200
    # No token, a malformed one, another tenant's URL: one uniform 401.
    for client, url in [
        (token_client(""), CHECKS),
        (token_client("kiam_nonsense"), CHECKS),
        (token_client(platform_token), "/api/v1/other/access/checks"),
    ]:
        response = client.post(url, body, format="json")
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    # A service account of the tenant without BINDINGS:READ: 403, saying what it lacks.
    lacking = service_account_create(tenant=tenant, name="nosy")
    response = token_client(api_token_issue(service_account=lacking).raw).post(
        CHECKS, body, format="json"
    )
    assert response.status_code == 403 and "BINDINGS:READ" in response.json()["detail"]
    # A namespaced binding of that role is not enough: reading bindings is tenant-level.
    Binding.objects.create(
        tenant=tenant, role=Role.objects.get(name="AccessReader"), service_account=lacking,
        namespace="company",
    )  # fmt: skip
    token = api_token_issue(service_account=lacking).raw
    assert token_client(token).post(CHECKS, body, format="json").status_code == 403


def test_a_revoked_token_stops_at_once(platform_token, alice):
    client = token_client(platform_token)
    body = {"checks": [check({"userName": "alice@example.com"}, "FLOWS:READ")]}
    assert client.post(CHECKS, body, format="json").status_code == 200
    api_token_revoke_all(service_account=Binding.objects.get(role__name="AccessReader").subject)
    assert client.post(CHECKS, body, format="json").status_code == 401


def test_the_openapi_document_describes_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) == {
        "/api/v1/{tenant_id}/access/checks",
        "/api/v1/{tenant_id}/access/permissions",
        "/api/v1/{tenant_id}/access/namespaces",
    }
    post = document["paths"]["/api/v1/{tenant_id}/access/checks"]["post"]
    assert post["operationId"] == "access_check"
    assert {"200", "400", "401", "403"} <= set(post["responses"])
    assert "serviceAccountToken" in document["components"]["securitySchemes"]


@pytest.mark.parametrize(
    "item, field, message",
    [
        ("FLOWS:READ", "checks[0]", "Expected a dictionary"),
        ({"permission": "FLOWS:READ"}, "checks[0].subject", "required"),
        ({"subject": "alice", "permission": "FLOWS:READ"}, "checks[0].subject", "dictionary"),
        ({"subject": {"userName": True}, "permission": "FLOWS:READ"},
         "checks[0].subject.userName", "Not a valid string"),
        ({"subject": {"userName": "a", "user": "b"}, "permission": "FLOWS:READ"},
         "checks[0].subject", "exactly one of"),
        ({"subject": {"userName": "a"}}, "checks[0].permission", "required"),
        ({"subject": {"userName": "a"}, "permission": ["FLOWS:READ"]},
         "checks[0].permission", "Not a valid string"),
        ({"subject": {"userName": "a"}, "permission": "FLOWS:READ", "namespace": {"a": 1}},
         "checks[0].namespace", "Not a valid string"),
    ],
)  # fmt: skip
def test_every_malformed_check_names_its_field(platform, item, field, message):
    response = platform.post(CHECKS, {"checks": [item]}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors and message in " ".join(errors[field]), errors


def test_a_subject_and_namespace_are_trimmed_as_text(platform, alice):
    body = {"checks": [check({"userName": " alice@example.com "}, "flows:update",
                             " company.data.etl ")]}  # fmt: skip
    response = platform.post(CHECKS, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["allowed"] is True
