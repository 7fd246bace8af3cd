"""The story, in Chromium, against a real OpenID provider on loopback: Entra provisions Ada
and the "Kestra Admins" group into tenant main over SCIM, the site administrator binds the
group to the Admin role once, and Ada clicks "Sign in with Microsoft", signs in at the
provider and lands in the admin seeing main and nothing of tenant "other". Each bad case is
refused with a page that says why; Entra disabling Ada during her open session ends it."""

from __future__ import annotations

import pytest

from kestra_iam.models import AuditEvent, Role
from kestra_iam.rbac.managed_roles import ADMIN_ROLE
from provisioning.selectors import scim_base_path
from provisioning.services import integration_create
from tests.factories import BindingFactory, GroupFactory, TenantFactory
from tests.scim.entra.test_replay import entra_user
from tests.scim.http import EntraClient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADA = "ada@contoso.com"


@pytest.fixture
def story(tenant, live_server, openid_provider, settings):
    settings.OIDC = openid_provider.settings()
    created = integration_create(tenant=tenant, name="Entra ID - Contoso")
    entra = EntraClient(
        live_server.url
        + scim_base_path(tenant_id=tenant.pk, integration_id=created.integration.pk),
        created.raw_token,
        "default",
    )
    response = entra.post("/Users", entra_user(ADA))
    assert response.status == 201
    ada = response.json()["id"]
    response = entra.post("/Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Kestra Admins", "externalId": "f1a2",
        "members": [{"value": ada}],
    })  # fmt: skip
    assert response.status == 201
    group = response.json()["id"]
    # The site administrator's one step: the group gets the Admin role.
    BindingFactory(
        tenant=tenant,
        role=Role.objects.get(tenant=tenant, name=ADMIN_ROLE),
        user=None,
        group_id=group,
    )
    other = TenantFactory(id="other", name="Other Corp")
    GroupFactory(tenant=other, display_name="Other Corp Finance")
    openid_provider.add_accounts({
        ADA: {"preferred_username": ADA, "name": "Ada Lovelace", "oid": "5f1c-ada"},
        "mallory@contoso.com": {"preferred_username": "mallory@contoso.com"},
    })  # fmt: skip
    openid_provider.tamper("")
    return {"entra": entra, "ada": ada, "provider": openid_provider}


def sign_in(page, live_server, login: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.click("text=Sign in with Microsoft")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_ada_signs_in_with_microsoft_and_administers_main_only(page, live_server, story, tenant):
    sign_in(page, live_server, ADA)
    assert page.url.rstrip("/").endswith("/admin")
    assert "IAM" in page.inner_text("#content-main")
    page.goto(f"{live_server.url}/admin/kestra_iam/group/")
    listing = page.inner_text("#result_list")
    assert "Kestra Admins" in listing and "Other Corp" not in listing
    page.goto(f"{live_server.url}/admin/kestra_iam/tenant/")
    assert "other" not in page.inner_text("#result_list").split()
    assert AuditEvent.objects.filter(
        action="signin.oidc.sign_in", tenant_id="main", outcome=200, subject=ADA
    ).exists()

    # Entra disables Ada while her session is open: the next admin request ends it.
    disable = {"op": "Replace", "path": "active", "value": "False"}
    assert story["entra"].patch(f"/Users/{story['ada']}", disable).status == 200
    page.goto(f"{live_server.url}/admin/kestra_iam/group/")
    assert "/admin/login/" in page.url
    assert "Your session has ended" in page.inner_text("body")
    assert AuditEvent.objects.filter(action="signin.oidc.session_ended", actor=ADA).exists()

    # Disabled, she is refused at the door too (the provider remembers her: no login form).
    page.click("text=Sign in with Microsoft")
    page.wait_for_selector("[role=alert]")
    assert "your access has been disabled or removed" in page.inner_text("[role=alert]")


@pytest.mark.parametrize(
    "mode, reason",
    [
        ("iss", "invalid claim: iss"),
        ("aud", "invalid claim: aud"),
        ("nonce", "invalid claim: nonce"),
        ("exp", "has expired"),
        ("signature", "invalid signature"),
    ],
)
def test_a_token_with_one_thing_wrong_is_refused(page, live_server, story, mode, reason):
    story["provider"].tamper(mode)
    sign_in(page, live_server, ADA)
    assert "/admin/" not in page.url.split("/signin/")[0][len(live_server.url) :]
    assert reason in page.inner_text("[role=alert]")
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url  # not signed in
    assert AuditEvent.objects.filter(action="signin.oidc.sign_in", outcome=403).exists()


def test_an_unknown_person_is_refused(page, live_server, story):
    sign_in(page, live_server, "mallory@contoso.com")
    assert "you have not been provisioned to any tenant here" in page.inner_text("[role=alert]")
    event = AuditEvent.objects.get(action="signin.oidc.sign_in", outcome=403)
    assert event.actor == "mallory@contoso.com" and event.tenant_id == ""
