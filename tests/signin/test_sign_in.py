"""Sign-in without a browser: who a verified token is matched to (and who is refused), the
login page's button, and callbacks that did not come from a sign-in this session started."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kestra_iam.models import AuditEvent, TenantAccess
from signin.conf import OIDCConfig
from signin.matching import match_person
from tests.factories import TenantAccessFactory, UserFactory, tenant_admin

CONFIG = OIDCConfig(discovery_url="https://idp.example/.well-known/openid-configuration",
                    client_id="kestra", client_secret="s")  # fmt: skip
BY_OID = OIDCConfig(**{**CONFIG.__dict__, "match": "externalId"})


@pytest.fixture
def ada(tenant):
    user = tenant_admin(tenant, "Ada@Contoso.com", {"GROUPS": ["READ"]})
    TenantAccess.objects.filter(user=user).update(external_id="5f1c-ada")
    return user


@pytest.mark.parametrize(
    "config, claims, expected",
    [
        (CONFIG, {"preferred_username": "ada@contoso.com"}, ""),  # the key ignores case
        (CONFIG, {"preferred_username": "ADA@CONTOSO.COM", "oid": "x"}, ""),
        (CONFIG, {"preferred_username": "eve@contoso.com"}, "not been provisioned"),
        (CONFIG, {"email": "ada@contoso.com"}, "sent no preferred_username claim"),
        (BY_OID, {"oid": "5f1c-ada", "preferred_username": "renamed@contoso.com"}, ""),
        (BY_OID, {"oid": "someone-else", "preferred_username": "ada@contoso.com"}, "not been"),
        (BY_OID, {"preferred_username": "ada@contoso.com"}, "sent no oid claim"),
    ],
)
def test_a_person_is_matched_on_the_configured_claim(ada, config, claims, expected):
    match = match_person(config, claims)
    assert match.refusal.find(expected) >= 0 if expected else match.accepted
    if not expected:
        assert match.user == ada and match.active_tenants == ("main",)


def test_a_site_administrator_is_never_signed_in_by_a_provider(admin_user, tenant):
    TenantAccessFactory(tenant=tenant, user=admin_user)  # a tenant provisioned the same name
    match = match_person(CONFIG, {"preferred_username": admin_user.user_name})
    assert not match.accepted and "sign in with their password" in match.refusal


def test_disabled_everywhere_is_refused(ada):
    TenantAccess.objects.filter(user=ada).update(active=False)
    match = match_person(CONFIG, {"preferred_username": "ada@contoso.com"})
    assert "disabled or removed" in match.refusal and match.disabled_tenants == ("main",)


def test_an_externalid_shared_by_two_people_is_refused(ada, other_tenant):
    TenantAccessFactory(tenant=other_tenant, user=UserFactory(), external_id="5f1c-ada")
    assert "more than one person" in match_person(BY_OID, {"oid": "5f1c-ada"}).refusal


def test_the_login_page_offers_the_provider_only_when_configured(client, settings):
    settings.OIDC = {}
    assert "Sign in with" not in client.get(reverse("admin:login")).content.decode()
    assert client.get(reverse("signin:start")).status_code == 404
    settings.OIDC = {**CONFIG.__dict__, "provider_name": "Contoso Entra"}
    page = client.get(reverse("admin:login") + "?next=/admin/kestra_iam/group/").content.decode()
    assert "Sign in with Contoso Entra" in page
    assert 'href="/signin/oidc/start/?next=/admin/kestra_iam/group/"' in page
    assert 'name="password"' in page  # the site administrator's form stays


def test_a_callback_this_session_did_not_start_is_refused(client, settings, db):
    settings.OIDC = CONFIG.__dict__
    response = client.get(reverse("signin:callback"), {"code": "stolen", "state": "forged"})
    assert response.status_code == 403
    assert "state did not match" in response.content.decode()
    event = AuditEvent.objects.get(action="signin.oidc.sign_in")
    assert event.outcome == 403 and "state did not match" in event.detail


def test_a_provider_error_is_told(client, settings, db):
    settings.OIDC = CONFIG.__dict__
    query = {"error": "access_denied", "error_description": "The user cancelled"}
    response = client.get(reverse("signin:callback"), query)
    assert response.status_code == 403
    assert "did not sign you in: The user cancelled" in response.content.decode()


def test_a_tenant_admin_without_any_tenant_left_is_signed_out(client, ada, tenant):
    client.force_login(ada)
    assert client.get(reverse("admin:index")).status_code == 200
    TenantAccess.objects.filter(user=ada).delete()
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:login")
    assert "_auth_user_id" not in client.session
    assert "Your session has ended" in client.get(reverse("admin:login")).content.decode()


def test_a_scim_delete_ends_the_open_session_at_the_next_request(client, scim, tenant):
    """Entra deletes the person in their only tenant: the very next admin page signs them out;
    the trail tells it."""
    from kestra_iam.models import Binding, Role, User
    from kestra_iam.rbac.managed_roles import ADMIN_ROLE

    user = User.objects.get(pk=scim.create_user("grace@contoso.com")["id"])
    Binding.objects.create(
        tenant=tenant, role=Role.objects.get(tenant=tenant, name=ADMIN_ROLE), user=user
    )
    client.force_login(user)
    assert client.get(reverse("admin:kestra_iam_group_changelist")).status_code == 200
    assert scim.delete(f"/Users/{user.pk}").status_code == 204
    response = client.get(reverse("admin:kestra_iam_group_changelist"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:login")
    event = AuditEvent.objects.get(action="signin.oidc.session_ended")
    from kestra_iam.audit_story import sentence

    assert sentence(event, event.actor) == (
        "grace@contoso.com's admin session ended: nothing left to administer"
    )


def test_sign_ins_read_as_sentences_in_the_trail(db):
    from kestra_iam.audit_story import sentence

    done = AuditEvent(action="signin.oidc.sign_in", actor="ada@contoso.com", tenant_id="main",
                      outcome=200, detail="signed in with Microsoft")  # fmt: skip
    refused = AuditEvent(action="signin.oidc.sign_in", actor="eve@contoso.com", outcome=403,
                         detail="you have not been provisioned to any tenant here")  # fmt: skip
    assert sentence(done, done.actor) == "ada@contoso.com signed in with Microsoft (main)"
    assert sentence(refused, refused.actor) == (
        "eve@contoso.com was refused signing in: you have not been provisioned to any tenant here"
    )
