"""The Provisioning page as an admin meets it, in Chromium, end to end."""

import re

import pytest

from kestra_iam.models import Role, ServiceAccount
from kestra_iam.services import api_token_authenticate
from provisioning.models import ProvisioningIntegration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_read_toggle_rotate_delete(admin_login, tenant, live_server):
    page = admin_login()

    # Administration → IAM → Provisioning → Add
    iam = page.locator("#content-main .module", has=page.locator("caption", has_text="IAM"))
    iam.locator("th").get_by_role("link", name="Provisioning", exact=True).click()
    page.get_by_role("link", name=re.compile("Add provisioning integration", re.I)).click()
    page.fill("#id_name", "Microsoft Entra ID")
    page.fill("#id_description", "Production directory")
    assert page.locator("#id_provisioning_type option:checked").inner_text() == "SCIM 2.0"
    page.select_option("#id_tenant", "main")
    page.click("input[name=_save]")

    # The one-time page: endpoint and token, with copy buttons and the warning.
    page.wait_for_selector("#secret-token")
    assert "not shown again" in page.locator(".token-warning").inner_text()
    endpoint = page.input_value("#endpoint")
    token = page.input_value("#secret-token")
    integration = ProvisioningIntegration.objects.get()
    assert endpoint == f"{live_server.url}/api/v1/main/integrations/{integration.pk}/scim/v2"
    assert api_token_authenticate(token).service_account == integration.service_account
    assert page.locator("button.copy").count() == 2
    page.locator("button.copy[data-copy='#secret-token']").click()
    page.wait_for_function(
        "document.querySelector(\"button.copy[data-copy='#secret-token']\").textContent !== 'Copy'"
    )

    # Reloading the page neither shows the token again nor creates anything (post/redirect/get).
    page.reload()
    assert "shown once" in page.locator(".token-already-shown").inner_text()
    assert page.locator("#secret-token").count() == 0
    assert ProvisioningIntegration.objects.count() == 1

    # Back to the list, disable with the toggle.
    page.get_by_role("link", name="Back to the list").click()
    row = page.locator("#result_list tbody tr", has_text="Microsoft Entra ID")
    assert "enabled" in row.locator(".integration-state").inner_text()
    row.get_by_role("button", name="Disable").click()
    page.wait_for_selector(".messagelist")
    row = page.locator("#result_list tbody tr", has_text="Microsoft Entra ID")
    assert row.locator(".integration-state").inner_text() == "disabled"
    integration.refresh_from_db()
    assert integration.enabled is False

    # Rotate from the change page: a new token, the old one is dead.
    row.get_by_role("link", name="Microsoft Entra ID").click()
    assert token[:21] in page.locator(".token-display").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Rotate token").click()
    page.wait_for_selector("#secret-token")
    rotated = page.input_value("#secret-token")
    assert rotated != token
    assert api_token_authenticate(token) is None
    assert api_token_authenticate(rotated) is not None
    # A reload does not rotate again: the token just shown (maybe pasted already) still works.
    page.reload()
    assert page.locator(".token-already-shown").count() == 1
    assert api_token_authenticate(rotated) is not None

    # Delete.
    page.get_by_role("link", name="Open the integration").click()
    page.get_by_role("link", name="Delete").click()
    page.click("input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert not ProvisioningIntegration.objects.exists()
    assert not ServiceAccount.objects.exists()
    assert Role.objects.filter(name="SCIMProvisioner").exists()
