"""Access decisions in the admin: a user's effective permissions per tenant (greyed when the
access is disabled), the "Check access" page, a group's bindings, who holds a role, and the
binding and tenant forms refusing what the rules refuse."""

import re

import pytest
from django.urls import reverse

from kestra_iam.models import Binding, Role, TenantAccess
from tests.factories import GroupFactory, GroupMembershipFactory, TenantAccessFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(tenant, other_tenant):
    """Alice: in Data Engineers (FlowEditor on company.data) in main; disabled in other, where
    she holds Viewer directly."""
    access = TenantAccessFactory(tenant=tenant, user=UserFactory(user_name="alice@example.com"))
    group = GroupFactory(tenant=tenant, display_name="Data Engineers")
    GroupMembershipFactory(group=group, access=access)
    role = Role.objects.create(tenant=tenant, name="FlowEditor", permissions={"FLOWS": ["UPDATE"]})
    Binding.objects.create(tenant=tenant, role=role, group=group, namespace="company.data")
    TenantAccessFactory(tenant=other_tenant, user=access.user, active=False)
    Binding.objects.create(
        tenant=other_tenant, role=Role.objects.get(tenant=other_tenant, name="Viewer"),
        user=access.user,
    )  # fmt: skip
    return access.user


def text(html: str) -> str:
    """The page's words, one space between them (tags count as a space, none before a comma)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" ,", ",")


def test_a_users_page_shows_what_it_holds_per_tenant_and_why(admin_client, alice):
    html = admin_client.get(reverse("admin:kestra_iam_user_change", args=[alice.pk])).content
    html = html.decode()
    panel = html[html.index('class="effective-tenant') :]
    words = text(panel)
    assert (
        "main Where Permission Why company.data and below FLOWS:UPDATE role FlowEditor on " in words
    )
    assert "company.data, through group Data Engineers" in words
    assert (
        '<div class="effective-tenant disabled"><strong>other</strong> — access disabled' in panel
    )
    assert "FLOWS:READ role Viewer tenant-wide, bound directly" in words


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            {
                "subject_type": "user_name",
                "subject": "alice@example.com",
                "permission": "FLOWS:UPDATE",
                "namespace": "company.data.etl",
            },
            "Allowed: FLOWS:UPDATE in company.data.etl and below Because of: role FlowEditor on "
            "company.data, through group Data Engineers",
        ),
        (
            {
                "subject_type": "user_name",
                "subject": "alice@example.com",
                "permission": "FLOWS:UPDATE",
                "namespace": "company",
            },
            "Denied: FLOWS:UPDATE in company and below",
        ),
        (
            {"subject_type": "user_name", "subject": "zoe", "permission": "FLOWS:READ"},
            "no such user or service account",
        ),
        (
            {
                "subject_type": "user_name",
                "subject": "alice@example.com",
                "permission": "USERS:READ",
                "namespace": "company",
            },
            "USERS belongs to the tenant as a whole",
        ),
        (
            {
                "subject_type": "user_name",
                "subject": "alice@example.com",
                "permission": "FLOWS:READ",
                "namespace": "Company Data",
            },
            "is not a namespace",
        ),
    ],
)
def test_the_check_access_page(admin_client, alice, tenant, query, expected):
    response = admin_client.get(reverse("admin:access_check"), {"tenant": tenant.pk, **query})
    assert response.status_code == 200
    assert expected in text(response.content.decode())


def test_check_access_is_listed_with_iam(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert f'href="{reverse("admin:access_check")}"' in html and "Check access" in html


def test_a_groups_page_lists_its_bindings_and_a_role_page_its_holders(admin_client, alice, tenant):
    group = tenant.groups.get()
    html = text(
        admin_client.get(reverse("admin:kestra_iam_group_change", args=[group.pk])).content.decode()
    )
    assert "FlowEditor on company.data and below" in html
    role = Role.objects.get(tenant=tenant, name="FlowEditor")
    Binding.objects.create(tenant=tenant, role=role, user=alice)
    tenant.default_role = role
    tenant.save()
    html = text(
        admin_client.get(reverse("admin:kestra_iam_role_change", args=[role.pk])).content.decode()
    )
    assert "Every active member of the tenant (its default role)." in html
    assert "group Data Engineers (1 member) on company.data and below" in html
    assert "user alice@example.com tenant-wide" in html


def test_the_binding_form_refuses_what_the_rules_refuse(admin_client, alice, tenant):
    role = Role.objects.get(tenant=tenant, name="Viewer")
    outsider = UserFactory(user_name="bob@example.com")
    url = reverse("admin:kestra_iam_binding_add")
    cases = [
        ({"user": outsider.pk}, "The user has no access to this tenant"),
        ({"user": alice.pk, "namespace": "Not A Namespace"}, "is not a namespace"),
    ]
    for subject, message in cases:
        form = {"tenant": tenant.pk, "role": role.pk, "namespace": "", **subject}
        response = admin_client.post(url, form)
        assert response.status_code == 200 and message in response.content.decode()
    form = {"tenant": tenant.pk, "role": role.pk, "user": alice.pk, "namespace": "company"}
    assert admin_client.post(url, form).status_code == 302
    again = admin_client.post(url, form)
    assert "already holds this role on this namespace" in again.content.decode()
    assert Binding.objects.filter(role=role).count() == 1


def test_a_tenants_default_role_is_one_of_its_roles(admin_client, tenant, other_tenant):
    url = reverse("admin:kestra_iam_tenant_change", args=[tenant.pk])
    html = admin_client.get(url).content.decode()
    choices = re.findall(
        r'<option value="(\d+)"', html[html.index('name="default_role"') :].split("</select>")[0]
    )
    assert set(map(int, choices)) == set(
        Role.objects.filter(tenant=tenant).values_list("pk", flat=True)
    )
    foreign = Role.objects.get(tenant=other_tenant, name="Admin")
    response = admin_client.post(url, {"id": "main", "name": "Main", "default_role": foreign.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    viewer = Role.objects.get(tenant=tenant, name="Viewer")
    assert (
        admin_client.post(
            url, {"id": "main", "name": "Main", "default_role": viewer.pk}
        ).status_code
        == 302
    )
    tenant.refresh_from_db()
    assert tenant.default_role == viewer
    assert TenantAccess.objects.count() == 0  # nothing else touched
