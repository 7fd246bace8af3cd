"""Who may call an integration's endpoint, and what a refusal looks like."""

from datetime import timedelta

import pytest
from django.utils.timezone import now
from rest_framework.test import APIClient

from kestra_iam.models import ApiToken, Role
from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_rotate_token, integration_set_enabled

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATHS = [
    "/Users",
    "/Groups",
    "/ServiceProviderConfig",
    "/Schemas",
    "/ResourceTypes",
    "/Bulk",
    "/nope",
]


def raw_get(scim, path, **headers):
    return APIClient().get(scim.url(path), **headers)


def assert_unauthenticated(response):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/scim+json"
    assert response["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "401"
    return body


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "Token {token}",
        "Bearer {token}x",
        "Bearer kiam_aaaaaaaaaaaaaaaa_" + "A" * 178,
        "Bearer {token} extra",
    ],
)
def test_every_authentication_failure_is_the_same_401(scim, header):
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header.format(token=scim.token)}
    body = assert_unauthenticated(raw_get(scim, "/Users", **headers))
    assert body == assert_unauthenticated(raw_get(scim, "/Users"))


@pytest.mark.parametrize(
    "header", ["bearer {token}", "BEARER {token}", "Bearer   {token}  ", "Bearer {token}\n"]
)
def test_scheme_in_any_case_and_padding_are_accepted(scim, header):
    response = raw_get(scim, "/Users", HTTP_AUTHORIZATION=header.format(token=scim.token))
    assert response.status_code == 200


def test_token_in_the_query_string_is_not_accepted(scim):
    assert_unauthenticated(APIClient().get(scim.url(f"/Users?access_token={scim.token}")))


def test_a_rotated_out_token_is_refused(scim):
    old = scim.token
    integration_rotate_token(integration=scim.integration)
    assert_unauthenticated(raw_get(scim, "/Users", HTTP_AUTHORIZATION=f"Bearer {old}"))


def test_expired_token(scim):
    ApiToken.objects.update(expires_at=now() - timedelta(minutes=1))
    assert_unauthenticated(scim.get("/Users"))


def test_another_integrations_token_is_refused(scim, other_scim, integration_factory, tenant):
    # Same tenant, another integration: its token does not open this endpoint.
    sibling = integration_factory(tenant, name="Okta")
    assert_unauthenticated(raw_get(scim, "/Users", HTTP_AUTHORIZATION=f"Bearer {sibling.token}"))
    # Another tenant's token.
    assert_unauthenticated(raw_get(scim, "/Users", HTTP_AUTHORIZATION=f"Bearer {other_scim.token}"))


def test_url_naming_another_tenant_or_integration_is_refused(scim, other_scim):
    client = scim.client
    wrong_tenant = scim.url("/Users").replace("/main/", "/other/")
    assert_unauthenticated(client.get(wrong_tenant))
    wrong_integration = scim.url("/Users").replace(
        str(scim.integration.pk), str(other_scim.integration.pk)
    )
    assert_unauthenticated(client.get(wrong_integration))
    not_a_uuid = scim.url("/Users").replace(str(scim.integration.pk), "nope")
    assert_unauthenticated(client.get(not_a_uuid))


@pytest.mark.parametrize("path", PATHS)
def test_disabled_integration_answers_403_on_every_path(scim, path):
    integration_set_enabled(integration=scim.integration, enabled=False)
    response = scim.get(path)
    assert response.status_code == 403
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "403"
    assert "disabled" in body["detail"]


def test_disabled_still_authenticates_first(scim):
    integration_set_enabled(integration=scim.integration, enabled=False)
    assert_unauthenticated(raw_get(scim, "/Users"))


def test_tenancy_off_refuses_every_request(scim, settings):
    settings.KESTRA_TENANTS_ENABLED = False
    response = scim.get("/Users")
    assert response.status_code == 403 and "tenants are disabled" in response.json()["detail"]


@pytest.mark.parametrize(
    "resource, action, method, path, body",
    [
        ("USERS", "READ", "get", "/Users", None),
        ("USERS", "CREATE", "post", "/Users", {"userName": "x"}),
        ("GROUPS", "READ", "get", "/Groups", None),
        ("GROUPS", "CREATE", "post", "/Groups", {"displayName": "x"}),
        ("USERS", "READ", "post", "/Users/.search", {}),
    ],
)
def test_a_permission_removed_from_the_role_is_refused(scim, resource, action, method, path, body):
    role = Role.objects.get(name="SCIMProvisioner")
    role.permissions = {
        r: [a for a in actions if not (r == resource and a == action)]
        for r, actions in role.permissions.items()
    }
    role.save()
    call = getattr(scim, method)
    response = call(path, body) if body is not None else call(path)
    assert response.status_code == 403
    assert f"{resource}:{action}" in response.json()["detail"]


def test_update_and_delete_permissions(scim):
    user = scim.create_user("a@example.com")
    group = scim.create_group("G")
    role = Role.objects.get(name="SCIMProvisioner")
    role.permissions = {"USERS": ["READ"], "GROUPS": ["READ", "UPDATE"]}
    role.save()
    assert (
        scim.patch_ops(
            f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "x"}
        ).status_code
        == 403
    )
    assert scim.delete(f"/Users/{user['id']}").status_code == 403  # needs USERS:UPDATE
    assert scim.delete(f"/Groups/{group['id']}").status_code == 403  # needs GROUPS:DELETE
    assert (
        scim.patch_ops(
            f"/Groups/{group['id']}", {"op": "replace", "path": "displayName", "value": "H"}
        ).status_code
        == 204
    )


def test_discovery_needs_only_a_valid_token(scim):
    Role.objects.filter(name="SCIMProvisioner").update(permissions={})
    assert scim.get("/ServiceProviderConfig").status_code == 200
    assert scim.get("/Users").status_code == 403


def test_last_request_is_recorded(scim):
    assert scim.integration.last_request_at is None
    scim.get("/ServiceProviderConfig")
    assert ProvisioningIntegration.objects.get().last_request_at is not None


def test_unknown_key_and_wrong_secret_do_the_same_work(scim, monkeypatch):
    """Timing cannot tell a valid key id from an unknown one: both compute one digest and one
    constant-time comparison (the benchmarks measure the time itself)."""
    import hmac as hmac_module

    from kestra_iam import tokens

    calls = {"digest": 0, "compare": 0}
    original_digest, original_compare = tokens.digest, hmac_module.compare_digest

    def counting_digest(*args, **kwargs):
        calls["digest"] += 1
        return original_digest(*args, **kwargs)

    def counting_compare(*args, **kwargs):
        calls["compare"] += 1
        return original_compare(*args, **kwargs)

    monkeypatch.setattr(tokens, "digest", counting_digest)
    monkeypatch.setattr(tokens.hmac, "compare_digest", counting_compare)
    known_key_wrong_secret = scim.token[:-4] + (
        "AAAA" if not scim.token.endswith("AAAA") else "BBBB"
    )
    unknown_key = "kiam_" + "a" * 16 + scim.token[21:]
    observed = []
    for token in (known_key_wrong_secret, unknown_key, "garbage"):
        calls.update(digest=0, compare=0)
        response = raw_get(scim, "/Users", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401
        observed.append(dict(calls))
    assert observed == [{"digest": 1, "compare": 1}] * 3
