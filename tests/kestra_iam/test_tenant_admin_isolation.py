"""Tenant administrators, systematically: every admin URL the project registers, asked by the
administrator of one tenant about the other's objects, answers without a trace of them — lists,
pages, filters, searches, autocompletes, raw ids, bulk actions, history, custom views — and no
POST changes them. Every name in tenant "othersecret" carries the marker, so one leaked
character string anywhere fails the test; the same pages show the administrator's own tenant,
so an empty page cannot pass for an isolated one."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, reverse

from kestra_iam.audit import AuditEntry
from kestra_iam.models import (
    AuditEvent,
    Binding,
    Group,
    GroupMembership,
    Role,
    ServiceAccount,
    Tenant,
    TenantAccess,
)
from kestra_iam.rbac.managed_roles import ADMIN_ROLE
from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_create
from tests.factories import (
    BindingFactory,
    GroupFactory,
    GroupMembershipFactory,
    RoleFactory,
    ServiceAccountFactory,
    TenantAccessFactory,
    UserFactory,
)

# Every name of a tenant carries its mark, its id included; each test runs twice, once as each
# tenant's administrator, and fails on any trace of the other tenant's mark.
MARKS = {"own": "minesecret", "other": "othersecret"}


def populate(tenant_id: str, prefix: str) -> dict:
    """A tenant with one of everything, named with `prefix`, administered by `<prefix>-admin`."""
    tenant = Tenant.objects.create(id=tenant_id, name=f"{prefix} Corp")
    person = UserFactory(user_name=f"{prefix}-person@example.com")
    access = TenantAccessFactory(
        tenant=tenant, user=person, display_name=f"{prefix} Person", external_id=f"{prefix}-ext"
    )
    group = GroupFactory(tenant=tenant, display_name=f"{prefix} Engineers")
    membership = GroupMembershipFactory(group=group, access=access)
    role = RoleFactory(
        tenant=tenant, name=f"{prefix} Flow Editors", permissions={"FLOWS": ["READ"]}
    )
    binding = BindingFactory(tenant=tenant, role=role, user=None, group=group, namespace="a.b")
    account = ServiceAccountFactory(tenant=tenant, name=f"{prefix}-robot")
    integration = integration_create(tenant=tenant, name=f"{prefix} Entra").integration
    administrator = UserFactory(user_name=f"{prefix}-admin@example.com")
    TenantAccessFactory(tenant=tenant, user=administrator, display_name=f"{prefix} Admin")
    admin_binding = BindingFactory(
        tenant=tenant, role=Role.objects.get(tenant=tenant, name=ADMIN_ROLE), user=administrator
    )
    from django.db import transaction

    with transaction.atomic():
        event = AuditEntry(
            action="admin.group.change",
            actor_type=AuditEvent.ActorType.ADMIN,
            actor=f"{prefix}-admin@example.com",
            tenant_id=tenant.pk,
            resource_type="group",
            resource_id=str(group.pk),
        ).record(subject=group.display_name)
    return {
        "tenant": tenant,
        "user": person,
        "tenantaccess": access,
        "group": group,
        "groupmembership": membership,
        "role": role,
        "binding": binding,
        "serviceaccount": account,
        "provisioningintegration": integration,
        "auditevent": event,
        "admin": administrator,
        "admin_binding": admin_binding,
    }


@pytest.fixture(params=["own", "other"], ids=["as-first-admin", "as-second-admin"])
def acting(request):
    return request.param


@pytest.fixture
def world(db, acting):
    """`own` is the acting administrator's tenant, `other` the one they must not see."""
    sides = {side: populate(f"{mark}-t", mark) for side, mark in MARKS.items()}
    them = "other" if acting == "own" else "own"
    return {"own": sides[acting], "other": sides[them]}


@pytest.fixture
def mark(acting):
    """The other tenant's mark."""
    return MARKS["other" if acting == "own" else "own"]


@pytest.fixture
def my_mark(acting):
    return MARKS[acting]


@pytest.fixture
def own_admin(client, world):
    client.force_login(world["own"]["admin"])
    return client


def admin_urls():
    """Every URL pattern of the admin site: (name, pattern, takes an object id)."""

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern) and entry.name:
                yield entry.name, prefix + str(entry.pattern)

    return sorted(set(walk(admin.site.get_urls())))


def object_of(world_side: dict, name: str):
    for key, obj in world_side.items():
        if name.startswith(f"{obj._meta.app_label}_{obj._meta.model_name}_") and key != "admin":
            return obj
    return None


def assert_clean(response, where: str, echoed=(), *, mark: str) -> None:
    """No trace of the other tenant but what the request itself sent (a search box, a filter
    value or an id the page repeats back)."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = raw.decode(errors="replace")
    location = response.get("Location", "")
    for value in sorted(map(str, echoed), key=len, reverse=True):
        body, location = body.replace(value, ""), location.replace(value, "")
    assert mark not in body and mark not in location, f"{where} shows the other tenant"


def test_every_admin_url_hides_the_other_tenant(own_admin, world, mark, my_mark):
    """Each pattern, with the other tenant's object where it takes one: never a 200 about
    it, never its names; list pages show the administrator's own rows."""
    other, own = world["other"], world["own"]
    checked, echoed = 0, set()
    for name, pattern in admin_urls():
        if name in {"logout"}:
            continue
        kwargs = {}
        if "<path:object_id>" in pattern:
            target = object_of(other, name) or other["tenant"]
            kwargs["object_id"] = str(target.pk)
        if "<id>" in pattern:
            kwargs["id"] = str(other["user"].pk)
        if "<str:format>" in pattern:
            kwargs["format"] = "csv"
        if "<slug:slug>" in pattern:
            kwargs["slug"] = "iam"
        if "<path:content_type_id>" in pattern or "content_type_id" in pattern:
            group = other["group"]
            kwargs = {
                "content_type_id": ContentType.objects.get_for_model(Group).pk,
                "object_id": str(group.pk),
            }
        if "app_label" in pattern:
            kwargs["app_label"] = "kestra_iam"
        try:
            url = reverse(f"admin:{name}", kwargs=kwargs)
        except Exception:  # a pattern whose arguments this test does not know is a failure
            pytest.fail(f"admin URL {name} ({pattern}) is not covered by this test")
        response = own_admin.get(url)
        assert response.status_code < 500, url
        echoed.update(map(str, kwargs.values()))  # a later page may repeat a message about it
        assert_clean(response, url, echoed, mark=mark)
        if "object_id" in kwargs and name.endswith(("_change", "_delete")):
            assert response.status_code in (302, 403, 404), f"{url} answered {response.status_code}"
        checked += 1
    assert checked > 40  # every model's five pages and the custom ones

    for key in ("user", "tenantaccess", "group", "role", "binding", "serviceaccount"):
        obj = own[key]
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_changelist")
        response = own_admin.get(url)
        assert response.status_code == 200, url
        assert_clean(response, url, mark=mark)
        label = {"user": f"{my_mark}-person", "tenantaccess": f"{my_mark}-person"}.get(key, my_mark)
        assert label in response.content.decode(), f"{url} does not list the own tenant"


@pytest.mark.parametrize(
    "model, query",
    [
        ("kestra_iam_user", {"q": "{mark}"}),
        ("kestra_iam_user", {"in_tenant": "{mark}-t"}),
        ("kestra_iam_user", {"disabled_in": "{mark}-t"}),
        ("kestra_iam_user", {"accesses__tenant__id__exact": "{mark}-t"}),
        ("kestra_iam_tenantaccess", {"tenant__id__exact": "{mark}-t"}),
        ("kestra_iam_tenantaccess", {"q": "{mark}"}),
        ("kestra_iam_group", {"tenant__id__exact": "{mark}-t"}),
        ("kestra_iam_group", {"q": "{mark}"}),
        ("kestra_iam_groupmembership", {"group__tenant__id__exact": "{mark}-t"}),
        ("kestra_iam_role", {"tenant__id__exact": "{mark}-t"}),
        ("kestra_iam_binding", {"role__name": "{mark} Flow Editors"}),
        ("kestra_iam_serviceaccount", {"q": "{mark}"}),
        ("kestra_iam_tenant", {"q": "{mark}"}),
        ("kestra_iam_auditevent", {"tenant": "{mark}-t"}),
        ("kestra_iam_auditevent", {"q": "{mark}"}),
        ("provisioning_provisioningintegration", {"tenant__id__exact": "{mark}-t"}),
    ],
)
def test_filters_and_searches_find_nothing_of_the_other_tenant(
    own_admin, world, model, query, mark
):
    query = {name: value.format(mark=mark) for name, value in query.items()}
    response = own_admin.get(reverse(f"admin:{model}_changelist"), query)
    assert response.status_code in (200, 302, 400)  # 400: a lookup the list does not offer
    assert_clean(response, f"{model} {query}", query.values(), mark=mark)


def test_subject_and_integration_filters_do_not_name_the_other_tenants_objects(
    own_admin, world, mark
):
    other = world["other"]
    trail = reverse("admin:kestra_iam_auditevent_changelist")
    for query in (
        {"resource": str(other["group"].pk)},
        {"integration": str(other["provisioningintegration"].pk)},
    ):
        assert_clean(own_admin.get(trail, query), str(query), query.values(), mark=mark)


@pytest.mark.parametrize(
    "model, field",
    [
        ("binding", "role"),
        ("binding", "user"),
        ("binding", "group"),
        ("binding", "service_account"),
        ("tenantaccess", "user"),
        ("tenantaccess", "manager"),
        ("groupmembership", "group"),
        ("groupmembership", "access"),
        ("user", "primary_tenant"),
    ],
)
def test_autocompletes_offer_only_their_tenants(own_admin, world, model, field, mark):
    response = own_admin.get(
        reverse("admin:autocomplete"),
        {"app_label": "kestra_iam", "model_name": model, "field_name": field, "term": ""},
    )
    assert response.status_code in (200, 403, 404)
    assert_clean(response, f"autocomplete {model}.{field}", mark=mark)
    response = own_admin.get(
        reverse("admin:autocomplete"),
        {"app_label": "kestra_iam", "model_name": model, "field_name": field, "term": mark},
    )
    assert_clean(response, f"autocomplete {model}.{field} {mark}", [mark], mark=mark)


def test_posts_at_the_other_tenants_objects_change_nothing(own_admin, world, mark):
    other = world["other"]
    group, role, binding = other["group"], other["role"], other["binding"]
    integration = other["provisioningintegration"]
    attempts = [
        (reverse("admin:kestra_iam_group_change", args=[group.pk]), {"display_name": "taken"}),
        (reverse("admin:kestra_iam_group_delete", args=[group.pk]), {"post": "yes"}),
        (reverse("admin:kestra_iam_role_delete", args=[role.pk]), {"post": "yes"}),
        (reverse("admin:kestra_iam_binding_delete", args=[binding.pk]), {"post": "yes"}),
        (
            reverse("admin:kestra_iam_group_changelist"),
            {"action": "delete_selected", "_selected_action": [str(group.pk)], "post": "yes"},
        ),
        (
            reverse("admin:provisioning_provisioningintegration_changelist"),
            {"action": "disable_selected", "_selected_action": [str(integration.pk)]},
        ),
        (reverse("admin:provisioning_provisioningintegration_toggle", args=[integration.pk]), {}),
        (
            reverse(
                "admin:provisioning_provisioningintegration_rotate_token", args=[integration.pk]
            ),
            {"overlap_hours": "0"},
        ),
        (
            reverse(
                "admin:provisioning_provisioningintegration_revoke_tokens", args=[integration.pk]
            ),
            {},
        ),
        (reverse("admin:kestra_iam_tenant_delete", args=[other["tenant"].pk]), {"post": "yes"}),
    ]
    for url, data in attempts:
        response = own_admin.post(url, data)
        assert response.status_code < 500, url
        assert_clean(response, url, mark=mark)
    group.refresh_from_db()
    integration.refresh_from_db()
    assert group.display_name == f"{mark} Engineers"
    assert (
        Role.objects.filter(pk=role.pk).exists() and Binding.objects.filter(pk=binding.pk).exists()
    )
    assert integration.enabled
    assert integration.service_account.tokens.filter(revoked_at__isnull=True).count() == 1
    assert Tenant.objects.filter(pk=other["tenant"].pk).exists()


def test_a_binding_cannot_reach_into_the_other_tenant(own_admin, world, mark):
    """The choices are the administrator's own; another tenant's role, group or tenant id in
    the POST is an invalid choice, and its name never comes back in the error page."""
    own, other = world["own"], world["other"]
    before = Binding.objects.count()
    for data in (
        {"tenant": own["tenant"].pk, "role": other["role"].pk, "group": own["group"].pk},
        {"tenant": own["tenant"].pk, "role": own["role"].pk, "group": other["group"].pk},
        {"tenant": other["tenant"].pk, "role": other["role"].pk, "group": other["group"].pk},
    ):
        response = own_admin.post(reverse("admin:kestra_iam_binding_add"), data)
        assert response.status_code == 200  # the form again, with its errors
        assert "Select a valid choice" in response.content.decode()
        assert_clean(response, str(data), mark=mark)
    membership = {"group": other["group"].pk, "access": own["tenantaccess"].pk}
    response = own_admin.post(reverse("admin:kestra_iam_groupmembership_add"), membership)
    assert_clean(response, "membership add", mark=mark)
    assert Binding.objects.count() == before
    assert not GroupMembership.objects.filter(access=own["tenantaccess"], group=other["group"])


def test_a_user_page_shows_only_the_tenants_profile(own_admin, world, mark):
    """A person in both tenants: the own administrator sees their access here, never the other
    tenant's profile, groups or permissions, and cannot change the global identity."""
    own, other = world["own"], world["other"]
    person = other["user"]
    TenantAccessFactory(tenant=own["tenant"], user=person, display_name="Shared Person")
    url = reverse("admin:kestra_iam_user_change", args=[person.pk])
    response = own_admin.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        world["own"]["tenant"].pk in body and "Shared Person" in body
    )  # their tenant's row of the inline
    # The userName is the global identity (it may carry any word); nothing else of theirs.
    assert_clean_but_identity(body, person.user_name, mark)
    response = own_admin.post(url, {"user_name": "renamed@example.com"})
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.user_name == f"{mark}-person@example.com"
    listing = own_admin.get(reverse("admin:kestra_iam_user_changelist")).content.decode()
    assert_clean_but_identity(listing, person.user_name, mark)


def assert_clean_but_identity(body: str, user_name: str, mark: str) -> None:
    assert mark not in body.replace(user_name, ""), re.findall(rf".{{60}}{mark}.{{60}}", body)


def test_a_tenant_administrator_never_sees_global_pages(own_admin, world):
    """Tenants are the site's to add and delete; global events are the site's alone."""
    assert own_admin.get(reverse("admin:kestra_iam_tenant_add")).status_code == 403
    tenant = world["own"]["tenant"]
    assert (
        own_admin.get(reverse("admin:kestra_iam_tenant_delete", args=[tenant.pk])).status_code
        == 403
    )
    with __import__("django.db", fromlist=["transaction"]).transaction.atomic():
        event = AuditEntry(
            action="command.tenant.create", actor_type=AuditEvent.ActorType.COMMAND, actor="ops"
        ).record(subject="global")
    response = own_admin.get(reverse("admin:kestra_iam_auditevent_change", args=[event.pk]))
    assert response.status_code in (302, 403, 404)


def test_the_site_administrator_still_sees_both(admin_client, world):
    body = admin_client.get(reverse("admin:kestra_iam_group_changelist")).content.decode()
    assert all(mark in body for mark in MARKS.values())


def test_models_registered_are_all_scoped():
    """A new admin page must say what a tenant administrator may do on it."""
    from kestra_iam.admin_scope import TenantScopedAdmin

    unscoped = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, TenantScopedAdmin)
    ]
    assert unscoped == []


def test_inventory_objects_exist(world):
    # The world holds each kind the URLs are asked about (a missing one would pass silently).
    for side in world.values():
        assert ServiceAccount.objects.filter(pk=side["serviceaccount"].pk).exists()
        assert ProvisioningIntegration.objects.filter(pk=side["provisioningintegration"].pk)
        assert TenantAccess.objects.filter(pk=side["tenantaccess"].pk).exists()
