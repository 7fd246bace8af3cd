"""What a tenant administrator may do in their own tenant follows their effective permissions
(the access-decision engine): READ lists and views, UPDATE changes, CREATE adds, DELETE
deletes; nobody grants more than they hold, and the last Admin binding is not removed from
inside the tenant."""

import pytest
from django.urls import reverse

from kestra_iam.models import Binding, Role, TenantAccess
from kestra_iam.rbac.managed_roles import ADMIN_ROLE
from tests.factories import BindingFactory, GroupFactory, RoleFactory, tenant_admin

GROUPS = "kestra_iam_group"


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


@pytest.mark.parametrize(
    "held, page, method, expected",
    [
        ({"GROUPS": ["READ"]}, "changelist", "get", 200),
        ({"GROUPS": ["READ"]}, "change", "get", 200),  # the read-only page
        ({"GROUPS": ["READ"]}, "change", "post", 403),
        ({"GROUPS": ["READ"]}, "add", "get", 403),
        ({"GROUPS": ["READ"]}, "delete", "get", 403),
        ({"GROUPS": ["READ", "UPDATE"]}, "change", "post", 302),
        ({"GROUPS": ["READ", "CREATE"]}, "add", "get", 200),
        ({"GROUPS": ["READ", "DELETE"]}, "delete", "get", 200),
        ({"USERS": ["READ"]}, "changelist", "get", 403),
        ({"USERS": ["READ"]}, "change", "get", 403),
    ],
)
def test_each_action_needs_its_permission(client, tenant, held, page, method, expected):
    group = GroupFactory(tenant=tenant, display_name="Data Engineers")
    client.force_login(tenant_admin(tenant, "ops@example.com", held))
    args = () if page in ("changelist", "add") else (group.pk,)
    data = {"display_name": "Data Engineering", "external_id": ""} if method == "post" else None
    response = getattr(client, method)(url(f"{GROUPS}_{page}", *args), data)
    assert response.status_code == expected


def test_a_binding_of_more_than_one_holds_is_refused(client, tenant):
    group = GroupFactory(tenant=tenant)
    editors = RoleFactory(tenant=tenant, name="Flow editors", permissions={"FLOWS": ["UPDATE"]})
    readers = RoleFactory(tenant=tenant, name="Flow readers", permissions={"FLOWS": ["READ"]})
    client.force_login(
        tenant_admin(
            tenant,
            "ops@example.com",
            {"BINDINGS": ["CREATE", "READ"], "ROLES": ["READ"], "GROUPS": ["READ"],
             "FLOWS": ["READ"]},
        )
    )  # fmt: skip
    add = url("kestra_iam_binding_add")
    response = client.post(add, {"tenant": tenant.pk, "role": editors.pk, "group": group.pk})
    assert response.status_code == 200
    assert "it would grant FLOWS:UPDATE, which you do not hold" in response.content.decode()
    assert not Binding.objects.filter(role=editors).exists()
    response = client.post(add, {"tenant": tenant.pk, "role": readers.pk, "group": group.pk})
    assert response.status_code == 302
    assert Binding.objects.filter(role=readers, group=group).exists()


def test_a_namespaced_holder_binds_within_their_namespace_only(client, tenant):
    group = GroupFactory(tenant=tenant)
    editors = RoleFactory(tenant=tenant, name="Flow editors", permissions={"FLOWS": ["UPDATE"]})
    person = tenant_admin(
        tenant,
        "ops@example.com",
        {"BINDINGS": ["CREATE", "READ"], "ROLES": ["READ"], "GROUPS": ["READ"]},
    )
    BindingFactory(tenant=tenant, user=person, namespace="company.data", role=editors)
    client.force_login(person)
    add = url("kestra_iam_binding_add")
    data = {"tenant": tenant.pk, "role": editors.pk, "group": group.pk}
    assert client.post(add, {**data, "namespace": "company"}).status_code == 200  # refused
    assert client.post(add, {**data, "namespace": "company.data.etl"}).status_code == 302


def test_a_role_cannot_be_made_larger_than_its_editor(client, tenant):
    """Not even the editor's own role: they hold ROLES:UPDATE through it."""
    person = tenant_admin(tenant, "ops@example.com", {"ROLES": ["READ", "UPDATE"]}, role_name="Ops")
    role = Role.objects.get(tenant=tenant, name="Ops")
    client.force_login(person)
    data = {
        "name": "Ops",
        "description": "",
        "grants": ["ROLES:READ", "ROLES:UPDATE", "USERS:DELETE"],
    }
    response = client.post(url("kestra_iam_role_change", role.pk), data)
    assert "it would grant USERS:DELETE" in response.content.decode()
    role.refresh_from_db()
    assert role.permissions == {"ROLES": ["READ", "UPDATE"]}
    data["grants"] = ["ROLES:READ"]  # smaller is always allowed
    assert client.post(url("kestra_iam_role_change", role.pk), data).status_code == 302


def test_the_last_admin_binding_is_not_removed_from_inside_the_tenant(client, admin_client, tenant):
    person = tenant_admin(tenant, "ops@example.com", {})
    Binding.objects.filter(user=person).delete()
    admin_role = Role.objects.get(tenant=tenant, name=ADMIN_ROLE)
    only = BindingFactory(tenant=tenant, role=admin_role, user=person)
    client.force_login(person)
    page = client.get(url("kestra_iam_binding_delete", only.pk)).content.decode()
    assert "the last Admin binding of tenant main" in page
    assert (
        client.post(url("kestra_iam_binding_delete", only.pk), {"post": "yes"}).status_code == 403
    )
    group = GroupFactory(tenant=tenant)
    BindingFactory(tenant=tenant, role=admin_role, user=None, group=group)
    # With a second one, either may go.
    assert (
        client.post(url("kestra_iam_binding_delete", only.pk), {"post": "yes"}).status_code == 302
    )
    # The site administrator may remove the last one, having been shown the same page.
    last = Binding.objects.get(role=admin_role)
    response = admin_client.post(url("kestra_iam_binding_delete", last.pk), {"post": "yes"})
    assert response.status_code == 302 and not Binding.objects.filter(role=admin_role).exists()


def test_integrations_need_what_their_binding_grants(client, tenant):
    """Creating an integration binds SCIMProvisioner: SERVICE_ACCOUNTS:CREATE is not enough."""
    from provisioning.models import ProvisioningIntegration

    client.force_login(
        tenant_admin(tenant, "ops@example.com", {"SERVICE_ACCOUNTS": ["CREATE", "READ"]})
    )
    data = {
        "tenant": tenant.pk,
        "name": "Entra ID",
        "description": "",
        "provisioning_type": "SCIM_2_0",
    }
    response = client.post(url("provisioning_provisioningintegration_add"), data)
    assert "it would grant" in response.content.decode()
    assert not ProvisioningIntegration.objects.exists()


def test_a_disabled_access_takes_its_tenant_away_at_the_next_request(client, tenant, other_tenant):
    person = tenant_admin(tenant, "ops@example.com", {"GROUPS": ["READ"]})
    BindingFactory(
        tenant=other_tenant,
        role=RoleFactory(tenant=other_tenant, permissions={"GROUPS": ["READ"]}),
        user=person,
    )
    GroupFactory(tenant=tenant, display_name="In main")
    GroupFactory(tenant=other_tenant, display_name="In the other")
    client.force_login(person)
    body = client.get(url(f"{GROUPS}_changelist")).content.decode()
    assert "In main" in body and "In the other" in body
    TenantAccess.objects.filter(tenant=tenant, user=person).update(active=False)
    body = client.get(url(f"{GROUPS}_changelist")).content.decode()
    assert "In main" not in body and "In the other" in body
    TenantAccess.objects.filter(tenant=other_tenant, user=person).delete()
    response = client.get(url(f"{GROUPS}_changelist"))
    assert response.status_code == 302 and response["Location"].startswith(url("login"))


def test_a_tenant_administrators_pages_cost_the_same_whatever_their_size(
    client, tenant, django_assert_max_num_queries
):
    """The scope is read once per request (a few queries per tenant of the person), and a
    list page adds no query per row."""
    client.force_login(tenant_admin(tenant, "ops@example.com", {"GROUPS": ["READ"]}))
    for rows in (5, 60):
        GroupFactory.create_batch(rows, tenant=tenant)
        # session, user, the scope (accesses, subject, grants), two filters' choices (3), the
        # two counts and the rows
        with django_assert_max_num_queries(11):
            assert client.get(url(f"{GROUPS}_changelist")).status_code == 200


def test_the_admin_role_and_the_last_admin_binding_keep_their_shape(client, tenant):
    """From inside the tenant, the Admin role is not narrowed or renamed, and the last Admin
    binding is not turned into another role's (which would lock the tenant out as surely)."""
    person = tenant_admin(tenant, "ops@example.com", {})
    Binding.objects.filter(user=person).delete()
    admin_role = Role.objects.get(tenant=tenant, name=ADMIN_ROLE)
    only = BindingFactory(tenant=tenant, role=admin_role, user=person)
    client.force_login(person)
    data = {"name": ADMIN_ROLE, "description": "", "grants": ["USERS:READ"]}
    page = client.post(url("kestra_iam_role_change", admin_role.pk), data).content.decode()
    assert "only a site administrator may rename it or take permissions from it" in page
    viewer = Role.objects.get(tenant=tenant, name="Viewer")
    change = {"role": viewer.pk, "user": person.pk, "namespace": ""}
    page = client.post(url("kestra_iam_binding_change", only.pk), change).content.decode()
    assert "This change would remove the last Admin binding of tenant main" in page
    only.refresh_from_db()
    assert only.role == admin_role
