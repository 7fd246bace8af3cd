"""Per-tenant profiles, played over real HTTP with two tenants' tokens: no tenant reads,
squats or takes over a person another tenant's identity provider provisioned.

Tenant `other` provisions its people; tenant `main` holds its own valid Secret Token and tries
everything a hostile (or merely misconfigured) identity provider could. After each attempt,
`other`'s own view, the primary profile and every password check must be as they were.
"""

from urllib.parse import quote

import pytest
from django.contrib.auth.hashers import check_password

from kestra_iam.models import TenantAccess, User
from kestra_iam.profiles import primary_profile, set_primary_tenant
from provisioning.selectors import scim_base_path
from provisioning.services import integration_create
from tests.factories import TenantFactory, UserFactory
from tests.scim.http import EntraClient

pytestmark = pytest.mark.django_db(transaction=True)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
VICTIM_PASSWORD = "Victim-Pass-456"
ATTACKER_PASSWORD = "Attacker-Pass-123"
SITE_PASSWORD = "Site-Pass-789"


def client_for(live_server, tenant_id: str) -> EntraClient:
    tenant = TenantFactory(id=tenant_id)
    created = integration_create(tenant=tenant, name=f"IdP of {tenant_id}")
    base = live_server.url + scim_base_path(
        tenant_id=tenant.pk, integration_id=created.integration.pk
    )
    return EntraClient(base, created.raw_token, "flag")


@pytest.fixture
def main(live_server):
    return client_for(live_server, "main")


@pytest.fixture
def other(live_server):
    return client_for(live_server, "other")


def search(client: EntraClient, scim_filter: str) -> dict:
    response = client.get("/Users?filter=" + quote(scim_filter))
    assert response.status == 200, response.body
    return response.json()


def created(response) -> dict:
    assert response.status == 201, response.body
    return response.json()


def without_meta(document: dict) -> dict:
    return {key: value for key, value in document.items() if key not in ("id", "meta")}


VICTIM = {
    "schemas": [USER, ENTERPRISE],
    "userName": "victim@other.example",
    "displayName": "Victoria Victim",
    "title": "Engineer",
    "password": VICTIM_PASSWORD,
    "emails": [{"value": "victim@other.example", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
}


@pytest.fixture
def victim(other) -> dict:
    """A user `other` provisioned, with a manager who exists only in `other`."""
    boss = created(
        other.post(
            "/Users",
            {"schemas": [USER], "userName": "boss@other.example", "displayName": "Boss Secretname"},
        )
    )
    body = {
        **VICTIM,
        ENTERPRISE: {"department": "R&D", "employeeNumber": "42", "manager": {"value": boss["id"]}},
    }
    user = created(other.post("/Users", body))
    return {
        "id": user["id"],
        "boss": boss["id"],
        "seen_by_other": other.get(f"/Users/{user['id']}").json(),
    }


def scim_password(tenant_id: str, user_id: str) -> str:
    return TenantAccess.objects.get(tenant_id=tenant_id, user_id=user_id).scim_password


def assert_untouched(other, victim) -> None:
    """`other` sees what it wrote; the primary profile is its; no sign-in password was set."""
    now_seen = other.get(f"/Users/{victim['id']}").json()
    assert now_seen == victim["seen_by_other"]
    found = search(other, 'userName eq "victim@other.example"')
    assert [u["id"] for u in found["Resources"]] == [victim["id"]]
    user = User.objects.get(pk=victim["id"])
    assert user.primary_tenant_id == "other"
    assert primary_profile(user).display_name == "Victoria Victim"
    assert not user.has_usable_password()  # SCIM never sets how a person signs in here
    assert check_password(VICTIM_PASSWORD, scim_password("other", victim["id"]))


def test_linking_another_tenants_user_reveals_nothing_it_wrote(main, other, victim):
    body = {
        "schemas": [USER],
        "userName": "VICTIM@other.example",
        "displayName": "Guessed",
        "password": ATTACKER_PASSWORD,
        "emails": [{"value": "attacker@evil.example"}],
        "externalId": "main-ext",
        "active": False,
    }
    linked = created(main.post("/Users", body))
    assert linked["id"] == victim["id"]  # linking keeps the identity: same id
    # Exactly what main sent (userName as the identity spells it), nothing of other's profile.
    assert without_meta(linked) == {
        "schemas": [USER],
        "userName": "victim@other.example",
        "displayName": "Guessed",
        "emails": [{"value": "attacker@evil.example"}],
        "externalId": "main-ext",
        "active": False,
    }
    assert main.get(f"/Users/{victim['id']}").json() == linked
    assert linked["meta"]["created"] != victim["seen_by_other"]["meta"]["created"]
    for oracle in (
        'title eq "Engineer"',
        'displayName sw "Victoria"',
        'emails.value eq "victim@other.example"',
        "phoneNumbers pr",
        f'{ENTERPRISE}:employeeNumber eq "42"',
        f'{ENTERPRISE}:department eq "R&D"',
        f'manager.value eq "{victim["boss"]}"',
        'manager.displayName sw "Boss"',
    ):
        assert search(main, oracle)["totalResults"] == 0, oracle
    assert check_password(ATTACKER_PASSWORD, scim_password("main", victim["id"]))
    assert_untouched(other, victim)


def test_each_tenants_writes_change_only_its_own_view(main, other, victim):
    created(main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    put_body = {
        "schemas": [USER, ENTERPRISE],
        "userName": "victim@other.example",
        "displayName": "Main's name for her",
        "title": "Contractor",
        "password": ATTACKER_PASSWORD,
        "emails": [{"value": "v@main.example", "type": "work"}],
        "externalId": "main-ext",
        "active": True,
        ENTERPRISE: {"department": "Sales"},
    }
    put = main.request("PUT", f"/Users/{victim['id']}", put_body)
    assert put.status == 200, put.body
    sent = {key: value for key, value in put_body.items() if key != "password"}
    assert without_meta(put.json()) == sent  # what main sent: nothing for Entra to correct
    patch = main.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": "displayName", "value": "Renamed in main"},
        {"op": "replace", "value": {"title": "CEO"}},
        {"op": "replace", "path": "active", "value": False},
    )
    assert patch.status == 200, patch.body
    seen = main.get(f"/Users/{victim['id']}").json()
    assert (seen["displayName"], seen["title"], seen["active"]) == ("Renamed in main", "CEO", False)
    # main's own manager for her is one of main's users.
    mentor = created(main.post("/Users", {"schemas": [USER], "userName": "mentor@main.example"}))
    patch = main.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": mentor["id"]},
    )
    assert patch.json()[ENTERPRISE]["manager"]["value"] == mentor["id"]
    assert search(main, f'manager.value eq "{mentor["id"]}"')["totalResults"] == 1
    refused = main.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": victim["boss"]},
    )
    assert (
        refused.status == 400 and "not the id of a user of this tenant" in refused.json()["detail"]
    )
    assert check_password(ATTACKER_PASSWORD, scim_password("main", victim["id"]))
    assert_untouched(other, victim)


def test_only_the_primary_tenant_renames_the_identity(main, other, victim):
    created(main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    rename = {"op": "replace", "path": "userName", "value": "renamed@evil.example"}
    refused = main.patch(f"/Users/{victim['id']}", rename)
    assert refused.status == 400, refused.body
    assert refused.json()["scimType"] == "mutability"
    assert "primary" in refused.json()["detail"]
    put = main.request(
        "PUT",
        f"/Users/{victim['id']}",
        {"schemas": [USER], "userName": "renamed@evil.example", "title": "Not written"},
    )
    assert put.status == 400 and "title" not in main.get(f"/Users/{victim['id']}").json()
    # Another spelling of the same name is no rename: accepted, the identity's spelling stays.
    same = main.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": "userName", "value": "Victim@Other.Example"},
    )
    assert same.status == 200 and same.json()["userName"] == "victim@other.example"
    assert_untouched(other, victim)
    # The primary tenant renames; every tenant sees the new identity.
    renamed = other.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": "userName", "value": "victoria@other.example"},
    )
    assert renamed.status == 200, renamed.body
    assert main.get(f"/Users/{victim['id']}").json()["userName"] == "victoria@other.example"


def test_the_squatting_sequence_ends_with_the_squatter_owning_nothing(main, other, victim):
    """B (main) links A's (other's) person, A's identity provider deletes her (Entra does, 30
    days after unassignment), B rewrites what it can, A provisions her again."""
    created(main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    assert other.delete(f"/Users/{victim['id']}").status == 204
    user = User.objects.get(pk=victim["id"])
    assert user.primary_tenant_id == "other" and primary_profile(user) is None  # not handed on
    squat = main.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": "emails", "value": [{"value": "attacker@evil.example"}]},
        {"op": "replace", "path": "password", "value": ATTACKER_PASSWORD},
    )
    assert squat.status == 200
    takeover = main.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": "userName", "value": "attacker@evil.example"},
    )
    assert takeover.status == 400
    # A provisions her again: same id, its own profile, its writes apply.
    back = created(other.post("/Users", VICTIM))
    assert back["id"] == victim["id"]
    assert back["emails"] == VICTIM["emails"] and back["displayName"] == "Victoria Victim"
    patch = other.patch(
        f"/Users/{victim['id']}", {"op": "replace", "path": "title", "value": "Staff Engineer"}
    )
    assert patch.status == 200 and patch.json()["title"] == "Staff Engineer"
    seen = other.get(f"/Users/{victim['id']}").json()
    assert seen["title"] == "Staff Engineer" and seen["emails"] == VICTIM["emails"]
    user.refresh_from_db()
    assert user.primary_tenant_id == "other" and user.user_name == "victim@other.example"
    assert primary_profile(user).title == "Staff Engineer"
    assert not user.has_usable_password()
    assert check_password(VICTIM_PASSWORD, scim_password("other", victim["id"]))
    assert main.get(f"/Users/{victim['id']}").json()["emails"] == [
        {"value": "attacker@evil.example"}
    ]


def test_a_pre_claimed_user_name_gives_the_squatter_only_its_own_view(main, other):
    squatted = created(
        main.post(
            "/Users",
            {"schemas": [USER], "userName": "newhire@other.example", "title": "Planted"},
        )
    )
    hired = created(
        other.post(
            "/Users",
            {"schemas": [USER], "userName": "newhire@other.example", "displayName": "New Hire"},
        )
    )
    assert hired["id"] == squatted["id"]
    assert hired["displayName"] == "New Hire" and "title" not in hired
    # main created the identity, so its profile is the primary one until a site administrator
    # says otherwise; main's delete alone does not hand it on.
    assert main.delete(f"/Users/{squatted['id']}").status == 204
    user = User.objects.get(pk=hired["id"])
    assert user.primary_tenant_id == "main" and primary_profile(user) is None
    rename = {"op": "replace", "path": "userName", "value": "new.hire@other.example"}
    assert other.patch(f"/Users/{hired['id']}", rename).status == 400
    set_primary_tenant(user, TenantFactory(id="other"))
    assert other.patch(f"/Users/{hired['id']}", rename).status == 200
    assert primary_profile(User.objects.get(pk=hired["id"])).display_name == "New Hire"


def test_an_administrators_user_name_answers_like_any_other(main, other):
    """No oracle: a site administrator's userName links like a stranger's, and a tenant's
    writes to its view of an administrator change nothing the administrator signs in with."""
    admin = UserFactory(user_name="root@site.example", password=SITE_PASSWORD)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    created(other.post("/Users", {"schemas": [USER], "userName": "known@other.example"}))
    answers = {
        name: main.post("/Users", {"schemas": [USER], "userName": name, "displayName": "X"})
        for name in ("root@site.example", "known@other.example", "brand.new@main.example")
    }
    assert {response.status for response in answers.values()} == {201}
    shapes = {
        name: {**without_meta(response.json()), "userName": "…"}
        for name, response in answers.items()
    }
    assert len({repr(shape) for shape in shapes.values()}) == 1, shapes
    assert {sorted(r.json()["meta"]) == ["created", "lastModified", "location", "resourceType",
            "version"] for r in answers.values()} == {True}  # fmt: skip
    view = main.patch(
        f"/Users/{admin.pk}",
        {"op": "replace", "path": "password", "value": ATTACKER_PASSWORD},
        {"op": "replace", "path": "active", "value": False},
    )
    assert view.status == 200, view.body
    assert (
        main.patch(
            f"/Users/{admin.pk}",
            {"op": "replace", "path": "userName", "value": "pwned@evil.example"},
        ).status
        == 400
    )
    admin.refresh_from_db()
    assert check_password(SITE_PASSWORD, admin.password)
    assert (admin.user_name, admin.is_staff, admin.is_superuser, admin.is_active) == (
        "root@site.example",
        True,
        True,
        True,
    )


def test_users_made_in_the_admin_are_renamed_by_no_tenant(main):
    person = UserFactory(user_name="staffless@example.com", password=SITE_PASSWORD)
    assert person.primary_tenant_id is None
    linked = created(
        main.post(
            "/Users",
            {"schemas": [USER], "userName": "staffless@example.com", "displayName": "Main's"},
        )
    )
    assert linked["id"] == str(person.pk) and linked["displayName"] == "Main's"
    rename = {"op": "replace", "path": "userName", "value": "renamed@example.com"}
    assert main.patch(f"/Users/{person.pk}", rename).status == 400
    person.refresh_from_db()
    assert person.user_name == "staffless@example.com" and person.primary_tenant_id is None
    assert check_password(SITE_PASSWORD, person.password)
