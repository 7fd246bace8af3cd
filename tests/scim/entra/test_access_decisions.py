"""End to end, over real HTTP: Entra-shaped SCIM traffic provisions Alice, and after each step
the platform asks the decision API whether she may edit flows in company.data.etl.

Added to the bound group → allowed; removed → denied; `active` "False" → denied; re-enabled
→ allowed; DELETE → denied; and another tenant that provisions and binds the same person
never changes what `main` answers.
"""

import http.client
import json
from urllib.parse import urlsplit

import pytest

from kestra_iam.models import Group, Role
from kestra_iam.rbac.services import binding_create, role_create
from provisioning.selectors import scim_base_path
from provisioning.services import integration_create
from tests.scim.http import EntraClient

ASK = {"permission": "FLOWS:UPDATE", "namespace": "company.data.etl"}


class Platform:
    """The platform asking the decision API of one tenant, over HTTP."""

    def __init__(self, url: str, tenant: str, token: str) -> None:
        self.server = urlsplit(url)
        self.path = f"/api/v1/{tenant}/access/checks"
        self.token = token

    def decide(self, user_name: str) -> dict:
        body = json.dumps({"checks": [{"subject": {"userName": user_name}, **ASK}]})
        connection = http.client.HTTPConnection(self.server.hostname, self.server.port, timeout=30)
        try:
            connection.request(
                "POST",
                self.path,
                body=body,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            response = connection.getresponse()
            assert response.status == 200, response.read()
            return json.loads(response.read())["results"][0]
        finally:
            connection.close()

    def allowed(self, user_name: str) -> bool:
        return self.decide(user_name)["allowed"]


@pytest.fixture
def other_entra(live_server, other_tenant, entra):
    created = integration_create(tenant=other_tenant, name="Other Entra")
    base = live_server.url + scim_base_path(
        tenant_id=other_tenant.pk, integration_id=created.integration.pk
    )
    return EntraClient(base, created.raw_token, entra.mode)


def test_what_entra_provisions_decides_access(
    entra, other_entra, live_server, tenant, platform_token
):
    platform = Platform(live_server.url, tenant.pk, platform_token)
    op = entra.op
    user = entra.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "alice@contoso.com",
            "externalId": "alice",
            "active": True,
        },
    )
    assert user.status == 201
    alice = user.json()["id"]
    group = entra.post(
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Data Engineers",
        },
    ).json()
    # The admin binds the group, once, to a role that may edit flows in company.data.
    role = role_create(tenant=tenant, name="FlowEditor", permissions={"FLOWS": ["READ", "UPDATE"]})
    binding_create(
        tenant=tenant, role=role, group=Group.objects.get(pk=group["id"]), namespace="company.data"
    )
    assert platform.decide("alice@contoso.com")["denial"]["code"] == "not_granted"

    add = {"op": op("add"), "path": "members", "value": [{"value": alice}]}
    assert entra.patch(f"/Groups/{group['id']}", add).status == 204
    decision = platform.decide("alice@contoso.com")
    assert (
        decision["allowed"] and decision["reasons"][0]["group"]["displayName"] == "Data Engineers"
    )

    remove = {"op": op("remove"), "path": f'members[value eq "{alice}"]'}
    assert entra.patch(f"/Groups/{group['id']}", remove).status == 204
    assert not platform.allowed("alice@contoso.com")

    assert entra.patch(f"/Groups/{group['id']}", add).status == 204
    assert platform.allowed("alice@contoso.com")
    disabled = False if entra.flag else "False"
    assert (
        entra.patch(
            f"/Users/{alice}", {"op": op("replace"), "path": "active", "value": disabled}
        ).status
        == 200
    )
    assert platform.decide("alice@contoso.com")["denial"]["code"] == "access_disabled"

    enabled = True if entra.flag else "True"
    assert (
        entra.patch(
            f"/Users/{alice}", {"op": op("replace"), "path": "active", "value": enabled}
        ).status
        == 200
    )
    assert platform.allowed("alice@contoso.com")

    # Another tenant provisions the same person and makes her its Admin: main does not care.
    linked = other_entra.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "alice@contoso.com",
        },
    )
    assert linked.status == 201 and linked.json()["id"] == alice
    other_admin = Role.objects.get(tenant_id="other", name="Admin")
    binding_create(tenant=other_admin.tenant, role=other_admin, user=linked_user(alice))

    assert entra.delete(f"/Users/{alice}").status == 204
    decision = platform.decide("alice@contoso.com")
    assert decision["denial"]["code"] == "no_access" and decision["subject"]["access"] == "none"

    # Re-provisioned, she starts over: no group, no access to flows.
    again = entra.post(
        "/Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "alice@contoso.com",
        },
    )
    assert again.status == 201 and again.json()["id"] == alice
    assert platform.decide("alice@contoso.com")["denial"]["code"] == "not_granted"


def linked_user(user_id: str):
    from kestra_iam.models import User

    return User.objects.get(pk=user_id)
