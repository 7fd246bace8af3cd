"""The console as an administrator sees it, in Chromium at 1,400 px: no page scrolls sideways,
the chart's bars carry the audit trail's numbers, readiness turns red when the role is broken
and green again after the Repair button."""

import pytest
from django.urls import reverse

from kestra_iam.models import Role, UserValue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1400


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_console_readiness_chart_and_repair(admin_login, scim, tenant, live_server):
    page = admin_login()
    page.set_viewport_size({"width": WIDTH, "height": 900})
    user = scim.create_user(
        "ada@example.com",
        addresses=[
            {
                "type": "work",
                "streetAddress": "1 Main St",
                "locality": "Paris",
                "postalCode": "75001",
            }
        ],
        x509Certificates=[{"value": "MII" + "A" * 3000}],
    )
    scim.create_group("Engineers", members=[{"value": user["id"]}])
    assert scim.post("/Users", {"userName": "ada@example.com"}).status_code == 409

    integration = scim.integration
    change = reverse("admin:provisioning_provisioningintegration_change", args=[integration.pk])
    page.goto(live_server.url + change)
    assert "ready to provision" in page.locator(".console.readiness h2").inner_text()
    assert page.locator("li.check.ok").count() == 6
    # The hour with our writes: 2 succeeded, 1 refused; the bars are drawn for them.
    now_bar = page.locator("svg.activity-chart.hourly g.bucket").last
    assert now_bar.get_attribute("data-succeeded") == "2"
    assert now_bar.get_attribute("data-refused") == "1"
    assert now_bar.locator("rect.bar.succeeded").count() == 1
    assert now_bar.locator("rect.bar.refused").count() == 1
    assert page.locator(".provisioned-users").inner_text() == "1 user"
    assert page.locator("tr.problem").count() == 1
    assert page_width(page) == WIDTH

    # Narrow the role in its grid: the role page names the integration, the console turns red.
    role = Role.objects.get(tenant=tenant, name="SCIMProvisioner")
    page.goto(live_server.url + reverse("admin:kestra_iam_role_change", args=[role.pk]))
    assert "“Entra ID” (main) rely on this role" in page.locator(".messagelist").inner_text()
    page.get_by_label("Users: Read").uncheck()
    page.click("input[name=_save]")
    assert "lacks USERS:READ" in page.locator(".messagelist").inner_text()
    page.goto(live_server.url + change)
    assert "needs attention" in page.locator(".console.readiness h2").inner_text()
    assert "lacks USERS:READ" in page.locator("li.check.fail[data-check=role]").inner_text()
    assert scim.get("/Users").status_code == 403

    # Delete it from its delete page, which warns: role and binding are red.
    page.goto(live_server.url + reverse("admin:kestra_iam_role_delete", args=[role.pk]))
    assert "stops provisioning integrations “Entra ID”" in page.locator(".messagelist").inner_text()
    page.click("input[type=submit]")
    page.goto(live_server.url + change)
    assert page.locator("li.check.fail").count() == 2
    page.get_by_role("button", name="Repair role and binding").click()
    page.wait_for_selector(".messagelist")
    assert "Repaired" in page.locator(".messagelist").inner_text()
    assert "ready to provision" in page.locator(".console.readiness h2").inner_text()
    assert scim.get("/Users").status_code == 200

    # The pages an administrator of provisioning opens fit the window.
    for url in [
        reverse("admin:provisioning_provisioningintegration_changelist"),
        reverse("admin:kestra_iam_user_change", args=[user["id"]]),
        reverse("admin:kestra_iam_user_changelist"),
        reverse("admin:kestra_iam_group_changelist"),
        reverse("admin:kestra_iam_role_changelist"),
        reverse("admin:kestra_iam_auditevent_changelist"),
        reverse("admin:index"),
    ]:
        page.goto(live_server.url + url)
        assert page_width(page) == WIDTH, url

    # The work address shows its parts on the tenant's profile page.
    address = UserValue.objects.get(attribute="addresses")
    page.goto(
        live_server.url + reverse("admin:kestra_iam_tenantaccess_change", args=[address.access_id])
    )
    extra = page.input_value(f"textarea[name$='-extra'][id^='id_values-{address.position}']")
    assert "1 Main St" in extra and "Paris" in extra and "75001" in extra
