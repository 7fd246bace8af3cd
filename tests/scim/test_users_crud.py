"""Users: create, read, replace, delete — and what "global user, per-tenant access" means."""

import pytest
from django.contrib.auth.hashers import check_password

from kestra_iam.models import Binding, GroupMembership, TenantAccess, User
from tests.factories import BindingFactory, RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

FULL_USER = {
    "schemas": [USER, ENTERPRISE],
    "userName": "Barbara.Jensen@Example.com",
    "externalId": "701984",
    "name": {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane",
        "honorificPrefix": "Ms.",
        "honorificSuffix": "III",
    },
    "displayName": "Babs Jensen",
    "nickName": "Babs",
    "profileUrl": "https://login.example.com/bjensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [
        {"value": "555-555-5555", "type": "work"},
        {"value": "555-555-4444", "type": "mobile"},
    ],
    "ims": [{"value": "someaimhandle", "type": "aim"}],
    "photos": [
        {"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}
    ],
    "addresses": [
        {
            "type": "work",
            "streetAddress": "100 Universal City Plaza",
            "locality": "Hollywood",
            "region": "CA",
            "postalCode": "91608",
            "country": "USA",
            "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
            "primary": True,
        }
    ],
    "entitlements": [{"value": "delete-flows", "type": "permission"}],
    "roles": [
        {
            "value": "admin",
            "type": "WindowsAzureActiveDirectoryRole",
            "primary": True,
            "display": "Admin",
        }
    ],
    "x509Certificates": [
        {"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}
    ],
    ENTERPRISE: {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
    },
}


def without_meta(resource: dict) -> dict:
    return {k: v for k, v in resource.items() if k not in ("id", "meta", "schemas")}


def expected(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "schemas"}


def test_a_full_user_reads_back_exactly_as_written(scim):
    created = scim.post("/Users", {**FULL_USER, "password": "t1meMa$heen"})
    assert created.status_code == 201
    user = created.json()
    assert without_meta(user) == expected(FULL_USER)
    assert created["Location"] == user["meta"]["location"]
    assert created["ETag"] == user["meta"]["version"]
    again = scim.get(f"/Users/{user['id']}").json()
    assert without_meta(again) == expected(FULL_USER)
    assert user["meta"]["resourceType"] == "User"
    assert again["meta"]["location"].endswith(f"/scim/v2/Users/{user['id']}")


def test_password_is_hashed_and_never_returned(scim):
    user = scim.create_user("pw@example.com", password="t1meMa$heen")
    stored = TenantAccess.objects.get(user_id=user["id"]).scim_password
    assert stored != "t1meMa$heen" and check_password("t1meMa$heen", stored)
    # The tenant's, on its profile: never this site's sign-in password.
    assert not User.objects.get(pk=user["id"]).has_usable_password()
    assert "password" not in user
    assert "password" not in scim.get(f"/Users/{user['id']}").json()
    assert "password" not in scim.get(f"/Users/{user['id']}?attributes=password").json()


def test_client_id_and_meta_are_ignored_on_create(scim):
    user = scim.create_user(
        "a@example.com",
        id="client-chosen",
        meta={"resourceType": "User", "created": "2000-01-01T00:00:00Z"},
    )
    assert user["id"] != "client-chosen"
    assert not user["meta"]["created"].startswith("2000")


def test_nulls_empty_roles_and_unknown_schemas_are_tolerated(scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "userName": "tolerant@example.com",
            "addresses": None,
            "phoneNumbers": None,
            "title": None,
            ENTERPRISE: {"department": None, "manager": None},
            "roles": [],
            "favouriteColour": "blue",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert "addresses" not in body and "roles" not in body and ENTERPRISE not in body


def test_active_not_given_is_not_returned_and_counts_as_active(scim):
    user = scim.create_user("quiet@example.com")
    assert "active" not in user
    assert scim.get("/Users?filter=active eq false").json()["totalResults"] == 0


def test_string_boolean_active_on_create_is_stored_as_a_boolean(scim):
    user = scim.create_user("s@example.com", active="True")
    assert user["active"] is True
    assert TenantAccess.objects.get(user_id=user["id"]).active is True


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "userName is required"),
        ({"userName": ""}, "userName is required"),
        ({"userName": None}, "userName is required"),
        ({"userName": 42}, "userName must be a string"),
        ({"userName": "x" * 257}, "longer than 256"),
        ({"userName": "nul\u0000byte"}, "NUL"),
        ({"userName": "a", "emails": {"value": "x"}}, "emails must be an array"),
        (
            {
                "userName": "a",
                "emails": [{"value": "x", "primary": True}, {"value": "y", "primary": True}],
            },
            "more than one value marked primary",
        ),
        ({"userName": "a", "active": "maybe"}, "active must be a boolean"),
        ({"userName": "a", "name": "Barbara"}, "name must be an object"),
    ],
)
def test_invalid_users_are_refused_with_the_reason(scim, body, message):
    response = scim.post("/Users", {"schemas": [USER], **body})
    assert response.status_code == 400
    error = response.json()
    assert error["scimType"] == "invalidValue" and message in error["detail"]
    assert not User.objects.exists()


def test_same_user_name_in_the_same_tenant_is_a_conflict_whatever_the_case(scim):
    scim.create_user("Dup@Example.com")
    response = scim.post("/Users", {"schemas": [USER], "userName": "dup@EXAMPLE.com"})
    assert response.status_code == 409
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "409",
        "scimType": "uniqueness",
        "detail": "A user with this userName already exists.",
    }
    assert User.objects.count() == 1


def test_a_user_known_globally_is_linked_with_the_same_id(scim, other_scim):
    theirs = other_scim.create_user("shared@example.com", externalId="other-ext", title="Engineer")
    ours = scim.post(
        "/Users", {"schemas": [USER], "userName": "SHARED@example.com", "externalId": "our-ext"}
    )
    assert ours.status_code == 201
    assert ours.json()["id"] == theirs["id"]
    assert User.objects.count() == 1
    # externalId and active belong to each tenant.
    assert ours.json()["externalId"] == "our-ext"
    assert other_scim.get(f"/Users/{theirs['id']}").json()["externalId"] == "other-ext"


def test_an_administrators_user_name_links_like_a_strangers(scim, other_scim):
    """No oracle for who administers the site: the answer is the answer to any known name."""
    other_scim.create_user("member@example.com")
    UserFactory(user_name="root@example.com", is_staff=True)
    ordinary = scim.post("/Users", {"schemas": [USER], "userName": "member@example.com"})
    response = scim.post("/Users", {"schemas": [USER], "userName": "root@example.com"})
    assert response.status_code == ordinary.status_code == 201
    assert sorted(response.json()) == sorted(ordinary.json())
    root = User.objects.get(user_name="root@example.com")
    assert root.is_staff and root.primary_tenant_id is None  # still the site's own


def test_active_is_per_tenant(scim, other_scim):
    user = scim.create_user("both@example.com", active=True)
    other_scim.create_user("both@example.com", active=True)
    scim.patch_ops(f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": "False"})
    assert scim.get(f"/Users/{user['id']}").json()["active"] is False
    assert other_scim.get(f"/Users/{user['id']}").json()["active"] is True


@pytest.mark.parametrize(
    "user_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "1", "%00"]
)
def test_unknown_or_malformed_ids_are_404(scim, user_id):
    for response in (
        scim.get(f"/Users/{user_id}"),
        scim.put(f"/Users/{user_id}", {"userName": "x"}),
        scim.patch_ops(f"/Users/{user_id}", {"op": "replace", "path": "title", "value": "x"}),
        scim.delete(f"/Users/{user_id}"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["status"] == "404"


def test_put_replaces_the_whole_user(scim):
    user = scim.post("/Users", FULL_USER).json()
    response = scim.put(
        f"/Users/{user['id']}",
        {"schemas": [USER], "userName": "barbara@example.com", "title": "Manager"},
    )
    assert response.status_code == 200
    body = response.json()
    assert without_meta(body) == {"userName": "barbara@example.com", "title": "Manager"}
    assert body["id"] == user["id"]
    assert body["meta"]["version"] != user["meta"]["version"]


def test_put_with_another_id_is_a_mutability_error(scim):
    user = scim.create_user("a@example.com")
    response = scim.put(
        f"/Users/{user['id']}",
        {"id": "00000000-0000-0000-0000-000000000001", "userName": "a@example.com"},
    )
    assert response.status_code == 400 and response.json()["scimType"] == "mutability"


def test_renaming_onto_another_user_is_a_conflict(scim):
    scim.create_user("taken@example.com")
    user = scim.create_user("free@example.com")
    for response in (
        scim.put(f"/Users/{user['id']}", {"userName": "TAKEN@example.com"}),
        scim.patch_ops(
            f"/Users/{user['id']}",
            {"op": "Replace", "path": "userName", "value": "taken@example.com"},
        ),
    ):
        assert response.status_code == 409 and response.json()["scimType"] == "uniqueness"
    assert scim.get(f"/Users/{user['id']}").json()["userName"] == "free@example.com"


def test_delete_removes_only_this_tenants_access(scim, other_scim, tenant):
    user = scim.create_user("leaver@example.com")
    other_scim.create_user("leaver@example.com")
    group = scim.create_group("Team", members=[{"value": user["id"]}])
    BindingFactory(
        tenant=tenant, role=RoleFactory(tenant=tenant), user=User.objects.get(pk=user["id"])
    )

    assert scim.delete(f"/Users/{user['id']}").status_code == 204

    assert User.objects.filter(pk=user["id"]).exists()
    assert not TenantAccess.objects.filter(tenant=tenant, user_id=user["id"]).exists()
    assert not GroupMembership.objects.filter(group_id=group["id"]).exists()
    assert not Binding.objects.filter(tenant=tenant, user_id=user["id"]).exists()
    assert other_scim.get(f"/Users/{user['id']}").status_code == 200
    for response in (
        scim.get(f"/Users/{user['id']}"),
        scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "x"}),
        scim.delete(f"/Users/{user['id']}"),
    ):
        assert response.status_code == 404
    assert scim.get(f"/Groups/{group['id']}").json().get("members", []) == []


def test_post_after_delete_returns_the_same_id(scim):
    user = scim.create_user("again@example.com")
    scim.delete(f"/Users/{user['id']}")
    assert scim.create_user("again@example.com")["id"] == user["id"]


def test_manager_must_be_a_user_of_this_tenant(scim, other_scim):
    stranger = other_scim.create_user("stranger@example.com")
    response = scim.post(
        "/Users", {"userName": "e@example.com", ENTERPRISE: {"manager": {"value": stranger["id"]}}}
    )
    assert response.status_code == 400 and "manager" in response.json()["detail"]
    boss = scim.create_user("boss@example.com", displayName="The Boss")
    user = scim.create_user("e@example.com", **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    assert user[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert user[ENTERPRISE]["manager"]["$ref"].endswith(f"/Users/{boss['id']}")
    detailed = scim.get(f"/Users/{user['id']}?attributes={ENTERPRISE}:manager.displayName").json()
    assert detailed[ENTERPRISE]["manager"]["displayName"] == "The Boss"


def test_a_user_cannot_manage_themselves(scim):
    user = scim.create_user("self@example.com")
    response = scim.patch_ops(
        f"/Users/{user['id']}", {"op": "add", "path": f"{ENTERPRISE}:manager", "value": user["id"]}
    )
    assert response.status_code == 400


def test_groups_attribute_lists_the_tenants_groups(scim):
    user = scim.create_user("member@example.com")
    group = scim.create_group("Readers", members=[{"value": user["id"]}])
    groups = scim.get(f"/Users/{user['id']}").json()["groups"]
    assert groups == [
        {
            "value": group["id"],
            "$ref": group["meta"]["location"],
            "display": "Readers",
            "type": "direct",
        }
    ]
