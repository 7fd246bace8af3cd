"""Global users without cross-tenant takeover, played over real HTTP with two tenants' tokens.

Tenant `other` provisions its people; tenant `main` holds its own valid Secret Token and tries
everything a hostile (or merely misconfigured) identity provider could to take them over. After
each attempt, `other`'s own view, the password and the administrators must be as they were.
"""

from urllib.parse import quote

import pytest
from django.contrib.auth.hashers import check_password

from kestra_iam.models import Binding, Role, TenantAccess, User
from provisioning.selectors import scim_base_path
from provisioning.services import integration_create
from tests.factories import TenantFactory, UserFactory
from tests.scim.http import EntraClient

pytestmark = pytest.mark.django_db(transaction=True)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
VICTIM_PASSWORD = "Victim-Pass-456"
ATTACKER_PASSWORD = "Attacker-Pass-123"


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
        "schemas": [USER, ENTERPRISE],
        "userName": "victim@other.example",
        "displayName": "Victoria Victim",
        "title": "Engineer",
        "password": VICTIM_PASSWORD,
        "emails": [{"value": "victim@other.example", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        ENTERPRISE: {"department": "R&D", "employeeNumber": "42", "manager": {"value": boss["id"]}},
    }
    user = created(other.post("/Users", body))
    return {
        "id": user["id"],
        "boss": boss["id"],
        "seen_by_other": other.get(f"/Users/{user['id']}").json(),
    }


def assert_untouched(other, victim) -> None:
    now_seen = other.get(f"/Users/{victim['id']}").json()
    assert now_seen == victim["seen_by_other"]
    found = search(other, 'userName eq "victim@other.example"')
    assert [u["id"] for u in found["Resources"]] == [victim["id"]]
    user = User.objects.get(pk=victim["id"])
    assert check_password(VICTIM_PASSWORD, user.password)
    assert not check_password(ATTACKER_PASSWORD, user.password)


def test_a_post_of_another_tenants_user_links_it_and_changes_nothing_global(main, other, victim):
    response = main.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "VICTIM@other.example",
            "displayName": "pwned",
            "password": ATTACKER_PASSWORD,
            "emails": [{"value": "attacker@evil.example"}],
            "externalId": "main-ext",
            "active": False,
        },
    )
    linked = created(response)
    assert linked["id"] == victim["id"]  # linking keeps Entra's sync working: same id
    # The response shows the stored profile, with main's own per-tenant attributes.
    assert linked["displayName"] == "Victoria Victim"
    assert linked["emails"] == [{"value": "victim@other.example", "type": "work", "primary": True}]
    assert (linked["externalId"], linked["active"]) == ("main-ext", False)
    assert_untouched(other, victim)


def test_a_non_owners_put_and_patch_are_accepted_and_change_only_its_access(main, other, victim):
    created(main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    put = main.request(
        "PUT",
        f"/Users/{victim['id']}",
        {
            "schemas": [USER],
            "userName": "renamed@evil.example",
            "displayName": "pwned",
            "password": ATTACKER_PASSWORD,
            "externalId": "main-ext",
            "active": False,
        },
    )
    assert put.status == 200
    assert put.json()["userName"] == "victim@other.example"
    assert (put.json()["externalId"], put.json()["active"]) == ("main-ext", False)
    patch = main.patch(
        f"/Users/{victim['id']}",
        {"op": "replace", "path": "displayName", "value": "pwned again"},
        {"op": "replace", "path": "password", "value": ATTACKER_PASSWORD},
        {"op": "replace", "value": {"userName": "renamed@evil.example", "title": "CEO"}},
        {"op": "remove", "path": "phoneNumbers"},
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Sales"},
        {"op": "replace", "path": "active", "value": True},
    )
    assert patch.status == 200, patch.body
    assert patch.json()["displayName"] == "Victoria Victim" and patch.json()["active"] is True
    assert_untouched(other, victim)


def test_pre_claiming_a_user_name_does_not_survive_the_real_owner(main, other):
    squatted = created(
        main.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "newhire@other.example",
                "title": "Planted",
                "password": ATTACKER_PASSWORD,
            },
        )
    )
    assert main.delete(f"/Users/{squatted['id']}").status == 204
    hired = created(
        other.post(
            "/Users",
            {"schemas": [USER], "userName": "newhire@other.example", "displayName": "New Hire"},
        )
    )
    assert hired["id"] == squatted["id"]
    assert hired["displayName"] == "New Hire" and "title" not in hired  # the whole profile
    assert not User.objects.get(pk=hired["id"]).has_usable_password()
    # `other` owns it now: its writes take effect, main's (linking again) do not.
    other.patch(f"/Users/{hired['id']}", {"op": "replace", "path": "title", "value": "Analyst"})
    created(
        main.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "newhire@other.example",
                "title": "Planted again",
                "password": ATTACKER_PASSWORD,
            },
        )
    )
    user = User.objects.get(pk=hired["id"])
    assert user.title == "Analyst" and not check_password(ATTACKER_PASSWORD, user.password)


def test_the_new_owner_of_an_orphan_may_set_its_password(main, other):
    squatted = created(
        main.post(
            "/Users",
            {"schemas": [USER], "userName": "n2@other.example", "password": ATTACKER_PASSWORD},
        )
    )
    main.delete(f"/Users/{squatted['id']}")
    created(
        other.post(
            "/Users",
            {"schemas": [USER], "userName": "n2@other.example", "password": VICTIM_PASSWORD},
        )
    )
    user = User.objects.get(pk=squatted["id"])
    assert check_password(VICTIM_PASSWORD, user.password)
    assert not check_password(ATTACKER_PASSWORD, user.password)


def test_another_tenants_manager_is_neither_shown_nor_matched(main, other, victim):
    linked = created(main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    seen_by_main = main.get(f"/Users/{victim['id']}").json()
    assert seen_by_main[ENTERPRISE] == {"department": "R&D", "employeeNumber": "42"}
    assert "manager" not in linked[ENTERPRISE]
    for oracle in (
        f'manager.value eq "{victim["boss"]}"',
        'manager.displayName sw "Boss"',
        f'{ENTERPRISE}:manager.displayName co "Secret"',
        "manager.value pr",
        f'manager[value eq "{victim["boss"]}"]',
    ):
        assert search(main, oracle)["totalResults"] == 0, oracle
    # The owner still sees and matches its own manager.
    assert search(other, f'manager.value eq "{victim["boss"]}"')["totalResults"] == 1
    # A manager main cannot see never makes main's writes fail.
    patch = main.patch(
        f"/Users/{victim['id']}", {"op": "replace", "path": "active", "value": False}
    )
    assert patch.status == 200
    assert_untouched(other, victim)


def test_ownership_passes_to_the_oldest_remaining_access(main, other, live_server, victim):
    third = client_for(live_server, "third")
    created(main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    created(third.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    assert other.delete(f"/Users/{victim['id']}").status == 204
    # main linked before third: main owns the profile now.
    third.patch(f"/Users/{victim['id']}", {"op": "replace", "path": "title", "value": "Third"})
    main.patch(f"/Users/{victim['id']}", {"op": "replace", "path": "title", "value": "Main"})
    assert User.objects.get(pk=victim["id"]).title == "Main"


def test_administrators_are_read_but_never_written(main, other, victim):
    user = User.objects.get(pk=victim["id"])
    user.is_superuser = user.is_staff = True
    user.save()
    role = Role.objects.create(tenant_id="other", name="Admins", permissions={"USERS": ["READ"]})
    Binding.objects.create(tenant_id="other", role=role, user=user)
    before = other.get(f"/Users/{victim['id']}").json()
    attempts = [
        other.request(
            "PUT",
            f"/Users/{victim['id']}",
            {"schemas": [USER], "userName": "victim@other.example", "displayName": "Changed"},
        ),
        other.patch(f"/Users/{victim['id']}", {"op": "replace", "path": "active", "value": False}),
        other.patch(
            f"/Users/{victim['id']}",
            {"op": "replace", "path": "password", "value": ATTACKER_PASSWORD},
        ),
        other.delete(f"/Users/{victim['id']}"),
    ]
    for response in attempts:
        assert response.status == 403, response.body
        assert "administrator" in response.json()["detail"]
        assert response.json()["status"] == "403"
    assert other.get(f"/Users/{victim['id']}").json() == before
    assert Binding.objects.filter(user=user).exists()
    assert TenantAccess.objects.filter(user=user, tenant_id="other").exists()
    assert check_password(VICTIM_PASSWORD, User.objects.get(pk=user.pk).password)
    # Linking an administrator reads exactly like any other conflict.
    taken = created(main.post("/Users", {"schemas": [USER], "userName": "taken@main.example"}))
    ordinary = main.post("/Users", {"schemas": [USER], "userName": taken["userName"]})
    admin = main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"})
    assert admin.status == ordinary.status == 409 and admin.json() == ordinary.json()


def test_users_made_in_the_admin_are_linked_but_never_rewritten(main):
    person = UserFactory(
        user_name="staffless@example.com", display_name="Made Here", password=VICTIM_PASSWORD
    )
    assert person.site_managed
    linked = created(
        main.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "staffless@example.com",
                "displayName": "pwned",
                "password": ATTACKER_PASSWORD,
            },
        )
    )
    assert linked["id"] == str(person.pk) and linked["displayName"] == "Made Here"
    main.patch(f"/Users/{person.pk}", {"op": "replace", "path": "displayName", "value": "pwned"})
    person.refresh_from_db()
    assert person.display_name == "Made Here"
    assert check_password(VICTIM_PASSWORD, person.password)


def test_an_instance_sharing_one_directory_may_let_every_tenant_write(
    main, other, victim, settings
):
    settings.SCIM_SHARED_PROFILES = True
    created(main.post("/Users", {"schemas": [USER], "userName": "victim@other.example"}))
    main.patch(f"/Users/{victim['id']}", {"op": "replace", "path": "title", "value": "Shared"})
    assert other.get(f"/Users/{victim['id']}").json()["title"] == "Shared"
    # Still never an administrator, and still never another tenant's manager in main's view.
    assert "manager" not in main.get(f"/Users/{victim['id']}").json().get(ENTERPRISE, {})
