"""The admin shell: Kestra's sections, every page rendering, forms that explain mistakes."""

import re

import pytest
from django.urls import reverse

from kestra_iam.models import Role, TenantAccess, User
from kestra_iam.permissions import Action, Resource
from tests.factories import (
    ApiTokenFactory,
    BindingFactory,
    GroupFactory,
    GroupMembershipFactory,
    RoleFactory,
    ServiceAccountFactory,
    TenantAccessFactory,
    UserValueFactory,
)

pytestmark = pytest.mark.django_db

IAM_MODELS = ["Users", "Profiles per tenant", "Groups", "Roles", "Bindings", "Service accounts"]


def section_names(html: str) -> list[str]:
    return re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', html)


def test_index_groups_models_like_kestra(admin_client):
    response = admin_client.get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Kestra Administration" in html
    assert section_names(html)[:2] == ["IAM", "Tenants"]
    iam = html.split('class="section"', 2)[1]
    positions = [iam.find(f">{name}</a>") for name in IAM_MODELS]
    assert all(p > 0 for p in positions) and positions == sorted(positions)


def test_section_page_lists_its_models(admin_client):
    response = admin_client.get(reverse("admin:section", kwargs={"slug": "iam"}))
    assert response.status_code == 200
    assert all(f">{name}</a>" in response.content.decode() for name in IAM_MODELS)
    assert admin_client.get("/admin/section/nope/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.fixture
def populated(tenant):
    membership = GroupMembershipFactory(group=GroupFactory(tenant=tenant))
    UserValueFactory(access=membership.access)
    account = ServiceAccountFactory(tenant=tenant)
    token = ApiTokenFactory(service_account=account)
    role = RoleFactory(tenant=tenant, permissions={"GROUPS": ["READ"]})
    BindingFactory(tenant=tenant, role=role, user=None, service_account=account)
    TenantAccessFactory(tenant=tenant)
    return {"membership": membership, "token": token, "account": account, "role": role}


@pytest.mark.parametrize(
    "model",
    [
        "tenant",
        "user",
        "tenantaccess",
        "group",
        "groupmembership",
        "role",
        "binding",
        "serviceaccount",
    ],
)
def test_every_list_add_and_change_page_renders(admin_client, populated, model):
    assert admin_client.get(reverse(f"admin:kestra_iam_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:kestra_iam_{model}_add")).status_code == 200
    instance = {
        "tenant": populated["account"].tenant,
        "user": populated["membership"].access.user,
        "tenantaccess": populated["membership"].access,
        "group": populated["membership"].group,
        "groupmembership": populated["membership"],
        "role": populated["role"],
        "binding": populated["role"].bindings.get(),
        "serviceaccount": populated["account"],
    }[model]
    url = reverse(f"admin:kestra_iam_{model}_change", args=[instance.pk])
    assert admin_client.get(url).status_code == 200


def test_token_secrets_never_reach_the_page(admin_client, populated):
    token = populated["token"]
    url = reverse("admin:kestra_iam_serviceaccount_change", args=[populated["account"].pk])
    html = admin_client.get(url).content.decode()
    assert token.display in html
    assert token.digest not in html


def test_role_permissions_are_edited_as_checkboxes(admin_client, tenant):
    response = admin_client.post(
        reverse("admin:kestra_iam_role_add"),
        {
            "tenant": tenant.pk,
            "name": "Auditor",
            "description": "",
            "grants": ["AUDITLOGS:READ", "USERS:READ", "USERS:UPDATE"],
        },
    )
    assert response.status_code == 302
    assert Role.objects.get(name="Auditor").permissions == {
        "USERS": ["READ", "UPDATE"],
        "AUDITLOGS": ["READ"],
    }


def test_role_permissions_are_a_resource_by_action_grid(admin_client, tenant):
    role = Role.objects.create(tenant=tenant, name="Auditor", permissions={"USERS": ["READ"]})
    html = admin_client.get(reverse("admin:kestra_iam_role_change", args=[role.pk])).content
    html = html.decode()
    grid = html[html.index('<table class="permission-grid">') :]
    grid = grid[: grid.index("</table>")]
    assert grid.count('<th scope="row">') == len(Resource)
    assert grid.count('type="checkbox"') == len(Resource) * len(Action)
    assert '<th scope="col">Create</th><th scope="col">Read</th>' in grid
    assert (
        '<input type="checkbox" name="grants" value="USERS:READ" id="id_grants_users_read" '
        'aria-label="Users: Read" checked>'
    ) in grid
    assert grid.count(" checked>") == 1


def test_adding_a_case_variant_user_is_a_form_error(admin_client):
    User.objects.create_user("dana@example.com")
    response = admin_client.post(
        reverse("admin:kestra_iam_user_add"),
        {"user_name": "DANA@example.com", "usable_password": "false"},
    )
    assert response.status_code == 200
    assert "compared without regard to case" in response.content.decode()
    assert User.objects.count() == 2  # the admin and dana, nothing more


def test_tenant_id_cannot_change_after_creation(admin_client, tenant):
    html = admin_client.get(reverse("admin:kestra_iam_tenant_change", args=[tenant.pk])).content
    assert b'name="id"' not in html


@pytest.mark.parametrize(
    "url, crumb",
    [
        ("admin:kestra_iam_user_changelist", '<a href="/admin/section/iam/">IAM</a>'),
        ("admin:kestra_iam_role_add", '<a href="/admin/section/iam/">IAM</a>'),
        ("admin:kestra_iam_tenant_changelist", '<a href="/admin/section/tenants/">Tenants</a>'),
        (
            "admin:provisioning_provisioningintegration_changelist",
            '<a href="/admin/section/iam/">IAM</a>',
        ),
        ("admin:kestra_iam_groupmembership_changelist", '<a href="/admin/section/iam/">IAM</a>'),
    ],
)
def test_breadcrumbs_follow_the_sections(admin_client, url, crumb):
    html = admin_client.get(reverse(url)).content.decode()
    assert crumb in html
    assert "Kestra IAM" not in html


@pytest.mark.parametrize("app_label", ["kestra_iam", "provisioning"])
def test_an_app_page_leads_home_instead_of_mixing_sections(admin_client, app_label):
    # Its models are spread over the sections: Django's app page would title them all "IAM".
    response = admin_client.get(reverse("admin:app_list", kwargs={"app_label": app_label}))
    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))


def test_every_page_declares_its_icon_and_favicon_ico_finds_it(admin_client, client):
    assert (
        'rel="icon" href="/static/kestra_iam/favicon.svg"'
        in client.get("/admin/login/").content.decode()
    )
    assert 'rel="icon"' in admin_client.get("/admin/").content.decode()
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (302, "/static/kestra_iam/favicon.svg")


def test_labels_are_words_not_scim_attribute_names(admin_client, client, tenant):
    login = client.get("/admin/login/").content.decode()
    assert "User name:" in login and "UserName" not in login
    user = User.objects.create_user("ada@example.com")
    html = admin_client.get(reverse("admin:kestra_iam_user_change", args=[user.pk])).content
    assert ">User name:</label>" in html.decode()
    access = TenantAccess.objects.create(user=user, tenant=tenant)
    html = admin_client.get(reverse("admin:kestra_iam_tenantaccess_change", args=[access.pk]))
    html = html.content.decode()
    for label in [
        "Display name:",
        "Given name:",
        "Honorific prefix:",
        "Cost center:",
        "Manager:",
    ]:
        assert f">{label}</label>" in html
    assert "Name.honorificPrefix" not in html and "DisplayName" not in html


def test_django_permission_groups_are_not_offered_next_to_iam_groups(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Authentication and Authorization" not in html
    assert html.count(">Groups</a>") == 1


def test_the_membership_admin_refuses_a_member_of_another_tenant(admin_client):
    from kestra_iam.models import GroupMembership
    from tests.factories import GroupFactory, TenantAccessFactory

    group = GroupFactory()
    stranger = TenantAccessFactory()
    response = admin_client.post(
        reverse("admin:kestra_iam_groupmembership_add"),
        {"group": group.pk, "access": stranger.pk},
    )
    assert response.status_code == 200  # the form again, with the reason
    assert "belongs to another tenant than the group" in response.content.decode()
    assert not GroupMembership.objects.exists()


def test_the_site_administrator_chooses_the_primary_profile(admin_client, tenant, other_tenant):
    from kestra_iam.models import TenantAccess
    from tests.factories import TenantAccessFactory, TenantFactory, UserFactory

    person = UserFactory(user_name="ada@example.com", primary_tenant=tenant)
    TenantAccessFactory(user=person, tenant=tenant, display_name="Ada in main")
    TenantAccessFactory(user=person, tenant=other_tenant, display_name="Ada in other")
    TenantFactory(id="third")  # holds no profile of her
    listing = admin_client.get(reverse("admin:kestra_iam_user_changelist")).content.decode()
    assert "Ada in main" in listing and "Ada in other" not in listing
    url = reverse("admin:kestra_iam_user_change", args=[person.pk])
    page = admin_client.get(url).content.decode()
    offered = page.split('name="primary_tenant"')[1].split("</select>")[0]
    assert 'value="main"' in offered and 'value="other"' in offered
    assert 'value="third"' not in offered
    assert "Ada in main in main" in page  # the primary profile, linked
    form = {
        "user_name": person.user_name,
        "primary_tenant": "other",
        "is_active": "on",
        "accesses-TOTAL_FORMS": "2",
        "accesses-INITIAL_FORMS": "2",
        "accesses-MIN_NUM_FORMS": "0",
        "accesses-MAX_NUM_FORMS": "1000",
    }
    for n, access in enumerate(TenantAccess.objects.filter(user=person).order_by("pk")):
        form.update(
            {
                f"accesses-{n}-id": access.pk,
                f"accesses-{n}-user": person.pk,
                f"accesses-{n}-tenant": access.tenant_id,
                f"accesses-{n}-external_id": access.external_id,
                f"accesses-{n}-active": "on",
            }
        )
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert person.primary_tenant_id == "other"
    refused = admin_client.post(url, {**form, "primary_tenant": "third"})
    assert refused.status_code == 200
    person.refresh_from_db()
    assert person.primary_tenant_id == "other"
    TenantAccess.objects.filter(user=person, tenant_id="other").delete()
    page = admin_client.get(url).content.decode()
    assert "none while tenant other has no access to this user" in page
