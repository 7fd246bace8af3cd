"""No admin page we own scrolls sideways at 1,400 px, in Chromium, with data as Entra writes it
(long names, addresses, certificates, several tenants): neither the page nor a list's table,
an inline or a fieldset inside it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from kestra_iam.models import AuditEvent, Binding, GroupMembership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1400
OWN_APPS = ("kestra_iam", "provisioning")
# Elements that scroll on their own when their content is too wide (Django's list wraps its
# table in `.results`, which scrolls instead of the page): a hidden sideways scroll bar. Form
# controls (a list box, a text area) scroll within themselves by design.
OVERFLOWING = """() => [...document.querySelectorAll('#content *')]
  .filter(e => !['SELECT', 'TEXTAREA'].includes(e.tagName))
  .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.tagName}.${e.className} ${e.scrollWidth}>${e.clientWidth}`)"""


def own_models():
    return [m for m in admin.site._registry if m._meta.app_label in OWN_APPS]


def pages(objects, request) -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:section", kwargs={"slug": "iam"})]
    for model in own_models():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        if admin.site._registry[model].has_add_permission(request):
            urls.append(reverse(f"{prefix}_add"))
        instance = objects.get(model)
        if instance is not None:
            urls.append(reverse(f"{prefix}_change", args=[instance.pk]))
            urls.append(reverse(f"{prefix}_delete", args=[instance.pk]))
    return urls


def test_no_page_we_own_scrolls_sideways(admin_login, admin_user, scim, other_scim, live_server):
    long_name = "a.very.long.user.name.as.some.directories.write.them@subsidiary.example.com"
    user = scim.create_user(
        long_name,
        displayName="Ada Lovelace-Byron, Countess of Lovelace (Analytical Engine Department)",
        emails=[{"value": long_name, "type": "work", "primary": True}],
        addresses=[
            {
                "type": "work",
                "streetAddress": "12 Long Street Name That Goes On, Building 4, Floor 12",
                "locality": "Saint-Rémy-lès-Chevreuse",
                "postalCode": "78470",
                "country": "FR",
            }
        ],
        x509Certificates=[{"value": "MII" + "A" * 4000}],
        photos=[{"value": "https://photos.example.com/" + "p" * 300, "type": "photo"}],
    )
    other_scim.create_user(long_name)
    group = scim.create_group(
        "Engineering — Platform, Reliability and Developer Experience (EMEA)",
        members=[{"value": user["id"]}],
    )
    assert scim.post("/Users", {"userName": long_name}).status_code == 409

    from kestra_iam.models import (
        ApiToken,
        Group,
        Role,
        ServiceAccount,
        Tenant,
        TenantAccess,
        User,
    )
    from provisioning.models import ProvisioningIntegration

    objects = {
        User: User.objects.get(pk=user["id"]),
        TenantAccess: TenantAccess.objects.get(user_id=user["id"], tenant_id="main"),
        Group: Group.objects.get(pk=group["id"]),
        GroupMembership: GroupMembership.objects.first(),
        Role: Role.objects.first(),
        Binding: Binding.objects.first(),
        ServiceAccount: ServiceAccount.objects.first(),
        ApiToken: ApiToken.objects.first(),
        Tenant: Tenant.objects.get(pk="main"),
        AuditEvent: AuditEvent.objects.first(),
        ProvisioningIntegration: scim.integration,
    }
    page = admin_login()
    page.set_viewport_size({"width": WIDTH, "height": 900})
    checked = []
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    for url in pages(objects, request):
        page.goto(live_server.url + url)
        assert page.evaluate("document.documentElement.scrollWidth") == WIDTH, url
        assert page.evaluate(OVERFLOWING) == [], url
        checked.append(url)
    # Every list, add, change and delete page of every model we register, and the index.
    assert len(checked) >= 3 * len(own_models())
