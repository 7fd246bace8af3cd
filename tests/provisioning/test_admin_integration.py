"""Administration → IAM → Provisioning, driven through Django's test client."""

import logging
import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.urls import reverse

from kestra_iam.models import ApiToken, Binding, Role, ServiceAccount
from kestra_iam.services import api_token_authenticate
from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_create
from provisioning.tenancy import TENANCY_REQUIRED

pytestmark = pytest.mark.django_db

LIST = "admin:provisioning_provisioningintegration_changelist"
ADD = "admin:provisioning_provisioningintegration_add"
HISTORY = "admin:provisioning_provisioningintegration_history"


def change_url(integration):
    return reverse("admin:provisioning_provisioningintegration_change", args=[integration.pk])


def create_through_admin(admin_client, tenant, **extra):
    data = {
        "name": "Entra ID",
        "description": "prod",
        "provisioning_type": "SCIM_2_0",
        "enabled": "on",  # as the browser posts the ticked box
    }
    return admin_client.post(reverse(ADD), {**data, "tenant": tenant.pk, **extra})


def test_the_section_lists_provisioning(admin_client):
    html = admin_client.get("/admin/").content.decode()
    iam = html.split('class="section"', 2)[1]
    assert ">Provisioning</a>" in iam


def test_lists_and_actions_count_integrations_in_the_plural(admin_client, tenant):
    for name in ("A", "B", "C"):
        integration_create(tenant=tenant, name=name)
    html = admin_client.get(reverse(LIST)).content.decode()
    assert "3 provisioning integrations" in html
    assert "Delete selected provisioning integrations" in html
    assert "3 provisioning<" not in html


def test_add_form_has_scim_preselected_and_starts_enabled(admin_client, tenant):
    html = admin_client.get(reverse(ADD)).content.decode()
    for name in ["name", "description", "provisioning_type", "tenant", "token_lifetime_days"]:
        assert f'name="{name}"' in html
    assert '<option value="SCIM_2_0" selected>SCIM 2.0</option>' in html
    # Enabled unless the admin unticks it (to prepare an integration before Entra may use it).
    assert 'name="enabled" aria-describedby="id_enabled_helptext" id="id_enabled" checked' in html


def test_an_unticked_enabled_box_creates_it_disabled(admin_client, tenant):
    data = {"name": "Entra ID", "description": "", "provisioning_type": "SCIM_2_0"}
    admin_client.post(reverse(ADD), {**data, "tenant": tenant.pk})
    assert ProvisioningIntegration.objects.get().enabled is False


def test_saving_shows_endpoint_and_token_once(admin_client, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    posted = create_through_admin(admin_client, tenant)
    assert posted.status_code == 302  # post/redirect/get
    integration = ProvisioningIntegration.objects.get()
    response = admin_client.get(posted["Location"])
    assert response.status_code == 200
    html = response.content.decode()
    endpoint = f"http://testserver/api/v1/main/integrations/{integration.pk}/scim/v2"
    assert endpoint in html
    assert "It is not shown again" in html
    assert "no-store" in response["Cache-Control"]
    raw = response.context["secret_token"]
    assert raw in html
    assert api_token_authenticate(raw).service_account == integration.service_account
    # Never through messages (cookies), never in the logs.
    assert all(raw not in morsel.value for morsel in response.cookies.values())
    assert raw not in caplog.text
    assert all(raw not in str(s.get_decoded()) for s in Session.objects.all())
    assert all(raw not in entry.change_message for entry in LogEntry.objects.all())
    assert raw not in posted["Location"]
    # Reloading the page shows it no more, and creates nothing.
    reloaded = admin_client.get(posted["Location"])
    assert reloaded.status_code == 410 and raw not in reloaded.content.decode()
    assert "shown once" in reloaded.content.decode()
    assert ProvisioningIntegration.objects.count() == 1
    # And never again: the change page only shows the prefix and the last characters.
    again = admin_client.get(change_url(integration)).content.decode()
    assert raw not in again
    assert ApiToken.objects.get().display in again
    assert endpoint in again


def test_endpoint_uses_kestra_url_when_configured(admin_client, tenant, settings):
    settings.KESTRA_URL = "https://kestra.example.com"
    response = admin_client.get(create_through_admin(admin_client, tenant)["Location"])
    integration = ProvisioningIntegration.objects.get()
    assert (
        f"https://kestra.example.com/api/v1/main/integrations/{integration.pk}/scim/v2"
        in response.content.decode()
    )


def test_duplicate_name_in_a_tenant_is_a_form_error(admin_client, tenant):
    integration_create(tenant=tenant, name="Entra ID")
    response = create_through_admin(admin_client, tenant)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "already has an integration with this name" in " ".join(form.errors["name"])
    assert not form.non_field_errors()  # shown on the Name field, not above the form
    assert ProvisioningIntegration.objects.count() == 1


def test_the_description_is_bounded_in_the_form(admin_client, tenant):
    response = create_through_admin(admin_client, tenant, description="d" * 2001)
    assert response.status_code == 200
    assert "at most 2000 characters" in " ".join(
        response.context["adminform"].form.errors["description"]
    )
    assert 'maxlength="2000"' in response.content.decode()
    assert not ProvisioningIntegration.objects.exists()


def test_list_shows_the_columns_and_toggles_from_the_list(admin_client, tenant):
    integration = integration_create(tenant=tenant, name="Entra ID").integration
    html = admin_client.get(reverse(LIST)).content.decode()
    for header in ["Name", "Tenant", "Enabled", "Endpoint", "Secret Token", "Last 7 days"]:
        assert header in html
    assert "Last request" in html
    assert f"/api/v1/main/integrations/{integration.pk}/scim/v2" in html
    toggle = reverse("admin:provisioning_provisioningintegration_toggle", args=[integration.pk])
    assert f'formaction="{toggle}"' in html

    response = admin_client.post(toggle)
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.enabled is False
    admin_client.post(toggle)
    integration.refresh_from_db()
    assert integration.enabled is True


@pytest.mark.parametrize(
    "posted, expected",
    [
        ("/admin/provisioning/", "/admin/provisioning/"),
        ("https://evil.example/phish", None),
        ("//evil.example/phish", None),
        ("javascript:alert(1)", None),
    ],
)
def test_toggle_returns_only_to_pages_of_this_site(admin_client, tenant, posted, expected):
    integration = integration_create(tenant=tenant, name="Entra ID").integration
    toggle = reverse("admin:provisioning_provisioningintegration_toggle", args=[integration.pk])
    response = admin_client.post(toggle, {"next": posted})
    assert response.status_code == 302
    assert response["Location"] == (expected or reverse(LIST))


def test_toggle_refuses_get(admin_client, tenant):
    integration = integration_create(tenant=tenant, name="Entra ID").integration
    toggle = reverse("admin:provisioning_provisioningintegration_toggle", args=[integration.pk])
    assert admin_client.get(toggle).status_code == 405


def test_bulk_actions_disable_and_enable(admin_client, tenant):
    ids = [str(integration_create(tenant=tenant, name=n).integration.pk) for n in ("a", "b")]
    admin_client.post(reverse(LIST), {"action": "disable_selected", "_selected_action": ids})
    assert not ProvisioningIntegration.objects.filter(enabled=True).exists()
    admin_client.post(reverse(LIST), {"action": "enable_selected", "_selected_action": ids})
    assert not ProvisioningIntegration.objects.filter(enabled=False).exists()


def test_rotate_shows_a_new_token_and_the_old_one_stops_working(admin_client, tenant):
    created = integration_create(tenant=tenant, name="Entra ID")
    url = reverse(
        "admin:provisioning_provisioningintegration_rotate_token", args=[created.integration.pk]
    )
    assert admin_client.get(url).status_code == 405
    posted = admin_client.post(url)
    assert posted.status_code == 302
    response = admin_client.get(posted["Location"])
    new = response.context["secret_token"]
    assert new != created.raw_token and new in response.content.decode()
    assert api_token_authenticate(created.raw_token) is None
    assert api_token_authenticate(new) is not None
    # A reload neither shows it again nor rotates again: the token just shown keeps working.
    assert admin_client.get(posted["Location"]).status_code == 410
    assert api_token_authenticate(new) is not None


def test_a_token_page_key_opens_nothing_for_another_integration_or_a_wrong_pad(
    admin_client, tenant
):
    first = integration_create(tenant=tenant, name="First").integration
    second = integration_create(tenant=tenant, name="Second").integration
    rotate = "admin:provisioning_provisioningintegration_rotate_token"
    location = admin_client.post(reverse(rotate, args=[first.pk]))["Location"]
    key = location.split("key=", 1)[1]
    elsewhere = reverse("admin:provisioning_provisioningintegration_secret_token", args=[second.pk])
    assert admin_client.get(f"{elsewhere}?key={key}").status_code == 410
    location = admin_client.post(reverse(rotate, args=[first.pk]))["Location"]
    ticket = location.split("key=", 1)[1].split(".", 1)[0]
    assert admin_client.get(location.split("?")[0] + f"?key={ticket}.AAAA").status_code == 410


def test_delete_removes_account_and_tokens_but_keeps_the_role(admin_client, tenant):
    integration = integration_create(tenant=tenant, name="Entra ID").integration
    url = reverse("admin:provisioning_provisioningintegration_delete", args=[integration.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not ProvisioningIntegration.objects.exists()
    assert not ServiceAccount.objects.exists()
    assert not ApiToken.objects.exists()
    assert not Binding.objects.exists()
    assert Role.objects.filter(name="SCIMProvisioner").exists()


def test_tenancy_off_explains_and_offers_no_add(admin_client, tenant, settings):
    settings.KESTRA_TENANTS_ENABLED = False
    html = admin_client.get(reverse(LIST)).content.decode()
    assert TENANCY_REQUIRED in html
    assert reverse(ADD) not in html
    response = admin_client.get(reverse(ADD), follow=True)
    assert TENANCY_REQUIRED in response.content.decode()
    response = create_through_admin(admin_client, tenant)
    assert not ProvisioningIntegration.objects.exists()


def test_a_tenant_admin_without_service_accounts_update_cannot_rotate(client, tenant):
    from tests.factories import tenant_admin

    client.force_login(tenant_admin(tenant, "reader", {"SERVICE_ACCOUNTS": ["READ"]}))
    integration = integration_create(tenant=tenant, name="Entra ID").integration
    url = reverse("admin:provisioning_provisioningintegration_rotate_token", args=[integration.pk])
    assert client.post(url).status_code == 403


def test_history_opens_the_integrations_audit_trail(admin_client, scim, other_scim):
    """HISTORY leads to the integration's audit trail (its SCIM writes and the changes made to
    it), not to Django's change history, which is empty for SCIM's writes."""
    scim.post("/Users", {"userName": "ada@example.com"})
    other_scim.post("/Users", {"userName": "bob@example.com"})  # another integration's
    history = reverse(HISTORY, args=[scim.integration.pk])
    response = admin_client.get(history)
    trail = reverse("admin:kestra_iam_auditevent_changelist")
    assert response.status_code == 302
    assert response["Location"] == f"{trail}?integration={scim.integration.pk}"
    listed = admin_client.get(response["Location"]).context["cl"].result_list
    assert [event.action for event in listed] == ["scim.users.create"]
    assert admin_client.get(reverse(HISTORY, args=[uuid.uuid4()])).status_code in (302, 404)


def test_history_of_a_user_is_its_audit_trail(admin_client, scim):
    user_id = scim.post("/Users", {"userName": "ada@example.com"}).json()["id"]
    response = admin_client.get(reverse("admin:kestra_iam_user_history", args=[user_id]))
    assert response.status_code == 302 and response["Location"].endswith(f"?q={user_id}")
    listed = admin_client.get(response["Location"]).context["cl"].result_list
    assert [event.resource_id for event in listed] == [user_id]
