"""The Microsoft SCIM Validator's tests (scimvalidator.microsoft.com), in the shapes it sends.

24 mandatory tests and 7 previews; each test here is named after the validator's.
"""

import pytest

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def validator_user(user_name: str) -> dict:
    """The validator's create body: many attributes, string "True" in roles."""
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "active": True,
        "displayName": "Dale Mohr",
        "title": "Architect",
        "emails": [{"type": "work", "value": f"work.{user_name}", "primary": True}],
        "preferredLanguage": "en-US",
        "name": {
            "givenName": "Dale",
            "familyName": "Mohr",
            "middleName": "Q",
            "honorificPrefix": "Dr.",
            "honorificSuffix": "Jr.",
            "formatted": "Dr. Dale Q Mohr Jr.",
        },
        "addresses": [
            {
                "type": "work",
                "streetAddress": "1 Way",
                "locality": "Redmond",
                "region": "WA",
                "postalCode": "98052",
                "country": "US",
                "formatted": "1 Way",
                "primary": True,
            }
        ],
        "phoneNumbers": [
            {"type": "work", "value": "555-0100"},
            {"type": "mobile", "value": "555-0101"},
            {"type": "fax", "value": "555-0102"},
        ],
        ENTERPRISE: {
            "employeeNumber": "42",
            "department": "Engineering",
            "costCenter": "CC1",
            "organization": "Contoso",
            "division": "Cloud",
        },
        "roles": [
            {
                "primary": "True",
                "display": "Admin",
                "value": "admin",
                "type": "WindowsAzureActiveDirectoryRole",
            }
        ],
        "userType": "Employee",
        "nickName": "Dale",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "profileUrl": "https://contoso.example/dale",
    }


@pytest.fixture
def user(scim):
    return scim.post("/Users", validator_user("dale.mohr@romaguera.uk")).json()


@pytest.fixture
def group(scim):
    return scim.post(
        "/Groups", {"schemas": [GROUP], "displayName": "Validator Group", "externalId": "vg"}
    ).json()


def by_filter(scim, resource, expression):
    return scim.get(f"/{resource}?filter={expression.replace(' ', '+')}").json()


# --- users ------------------------------------------------------------------------------------


def test_create_a_new_user(scim):
    body = validator_user("new.user@contoso.com")
    response = scim.post("/Users", body, content_type="application/scim+json; charset=utf-8")
    assert response.status_code == 201
    found = by_filter(scim, "Users", 'userName eq "new.user@contoso.com"')["Resources"][0]
    assert found["roles"][0]["primary"] is True
    for key in (
        "displayName",
        "title",
        "emails",
        "name",
        "addresses",
        "phoneNumbers",
        ENTERPRISE,
        "userType",
        "nickName",
        "locale",
        "timezone",
        "profileUrl",
    ):
        assert found[key] == body[key], key


def test_create_a_duplicate_user(scim, user):
    assert scim.post("/Users", validator_user(user["userName"])).status_code == 409


def test_filter_for_an_existing_user(scim, user):
    assert by_filter(scim, "Users", f'userName eq "{user["userName"]}"')["totalResults"] == 1


def test_filter_for_a_non_existing_user(scim, user):
    body = by_filter(scim, "Users", 'userName eq "nobody@contoso.com"')
    assert (body["totalResults"], body["Resources"]) == (0, [])


def test_filter_for_an_existing_user_with_a_different_case(scim, user):
    # The validator encodes "@" and uses literal quotes.
    response = scim.get('/Users?filter=userName+eq+"DALE.MOHR%40ROMAGUERA.UK"')
    assert response.json()["totalResults"] == 1


def test_patch_user_replace_attributes(scim, user):
    operations = [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "changed@contoso.com"},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "555-0200"},
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555-0201"},
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "2 Way"},
        {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Seattle"},
        {"op": "replace", "path": "displayName", "value": "Dale M."},
        {"op": "replace", "path": "title", "value": "Principal"},
        {"op": "replace", "path": "name.givenName", "value": "Dal"},
        {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Research"},
    ]
    assert scim.patch_ops(f"/Users/{user['id']}", *operations).status_code == 200
    body = scim.get(f"/Users/{user['id']}").json()
    assert body["emails"][0]["value"] == "changed@contoso.com"
    assert [p["value"] for p in body["phoneNumbers"]] == ["555-0200", "555-0201", "555-0102"]
    assert (body["addresses"][0]["streetAddress"], body["addresses"][0]["locality"]) == (
        "2 Way",
        "Seattle",
    )
    assert (body["displayName"], body["title"], body["name"]["givenName"]) == (
        "Dale M.",
        "Principal",
        "Dal",
    )
    assert body[ENTERPRISE]["department"] == "Research"


def test_patch_user_replace_attributes_with_primary_filters(scim, user):
    scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "replace", "path": "emails[primary eq true].value", "value": "p@contoso.com"},
    )
    assert scim.get(f"/Users/{user['id']}").json()["emails"][0]["value"] == "p@contoso.com"


def test_update_user_username(scim, user):
    response = scim.patch_ops(
        f"/Users/{user['id']}", {"op": "replace", "value": {"userName": "renamed@contoso.com"}}
    )
    assert response.json()["userName"] == "renamed@contoso.com"


def test_patch_user_disable_user(scim, user):
    scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": False})
    found = by_filter(scim, "Users", f'userName eq "{user["userName"]}"')["Resources"][0]
    assert found["active"] is False


@pytest.mark.parametrize("shape", ["object", "string"])
def test_patch_user_add_replace_remove_manager(scim, user, shape):
    manager = scim.post("/Users", validator_user("manager@contoso.com")).json()
    other = scim.post("/Users", validator_user("other.manager@contoso.com")).json()
    path = f"{ENTERPRISE}:manager"
    value = (lambda i: {"value": i}) if shape == "object" else (lambda i: i)
    scim.patch_ops(
        f"/Users/{user['id']}", {"op": "add", "path": path, "value": value(manager["id"])}
    )
    assert scim.get(f"/Users/{user['id']}").json()[ENTERPRISE]["manager"]["value"] == manager["id"]
    scim.patch_ops(
        f"/Users/{user['id']}", {"op": "replace", "path": path, "value": value(other["id"])}
    )
    assert scim.get(f"/Users/{user['id']}").json()[ENTERPRISE]["manager"]["value"] == other["id"]
    scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": path, "value": value("")})
    assert "manager" not in scim.get(f"/Users/{user['id']}").json()[ENTERPRISE]


def test_delete_a_user(scim, user):
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert scim.get(f"/Users/{user['id']}").status_code == 404


# --- groups ----------------------------------------------------------------------------------


def test_get_group_by_id_excluding_members(scim, group):
    assert "members" not in scim.get(f"/Groups/{group['id']}?excludedAttributes=members").json()


def test_filter_for_existing_group_excluding_members(scim, group):
    body = scim.get(
        '/Groups?excludedAttributes=members&filter=displayName+eq+"Validator Group"'
    ).json()
    assert body["totalResults"] == 1 and "members" not in body["Resources"][0]


def test_filter_for_an_existing_group(scim, group):
    assert by_filter(scim, "Groups", 'displayName eq "Validator Group"')["totalResults"] == 1


def test_filter_for_a_non_existing_group(scim, group):
    assert by_filter(scim, "Groups", 'displayName eq "Nope"')["totalResults"] == 0


def test_filter_for_an_existing_group_with_a_different_case(scim, group):
    assert by_filter(scim, "Groups", 'displayName eq "VALIDATOR GROUP"')["totalResults"] == 1


def test_create_a_new_group(scim):
    response = scim.post("/Groups", {"displayName": "Fresh", "externalId": "f", "schemas": [GROUP]})
    assert response.status_code == 201


def test_create_a_duplicate_group(scim, group):
    assert (
        scim.post("/Groups", {"displayName": "Validator Group", "schemas": [GROUP]}).status_code
        == 409
    )


def test_patch_group_replace_attributes(scim, group):
    scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "replace", "value": {"externalId": "3e1c5a0e-aaaa"}}
    )
    assert scim.get(f"/Groups/{group['id']}").json()["externalId"] == "3e1c5a0e-aaaa"


def test_update_group_display_name(scim, group):
    scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "replace", "value": {"displayName": "MSADPJJZWBUS"}}
    )
    assert scim.get(f"/Groups/{group['id']}").json()["displayName"] == "MSADPJJZWBUS"


def test_patch_group_add_member(scim, group, user):
    scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "replace", "path": "members", "value": [{"value": user["id"]}]},
    )
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json()["members"]] == [
        user["id"]
    ]


def test_patch_group_remove_member(scim, group, user):
    second = scim.post("/Users", validator_user("second@contoso.com")).json()
    scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": user["id"]}, {"value": second["id"]}]},
    )
    scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}
    )
    assert [m["value"] for m in scim.get(f"/Groups/{group['id']}").json()["members"]] == [
        second["id"]
    ]


def test_delete_a_group(scim, group):
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert scim.get(f"/Groups/{group['id']}").status_code == 404


# --- previews --------------------------------------------------------------------------------


def test_preview_patch_user_multiple_ops_on_different_attributes(scim, user):
    scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "replace", "path": "displayName", "value": "A"},
        {"op": "replace", "path": "title", "value": "B"},
    )
    body = scim.get(f"/Users/{user['id']}").json()
    assert (body["displayName"], body["title"]) == ("A", "B")


def test_preview_patch_user_multiple_ops_on_same_attribute(scim, user):
    scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "replace", "path": "title", "value": "First"},
        {"op": "replace", "path": "title", "value": "Second"},
    )
    assert scim.get(f"/Users/{user['id']}").json()["title"] == "Second"


def test_preview_delete_a_non_existent_user(scim):
    assert scim.delete("/Users/00000000-0000-0000-0000-000000000000").status_code == 404


def test_preview_delete_the_same_user_twice(scim, user):
    assert [scim.delete(f"/Users/{user['id']}").status_code for _ in range(2)] == [204, 404]


def test_preview_patch_group_multiple_ops_on_same_attribute(scim, group, user):
    response = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": user["id"]}]},
        {"op": "remove", "path": f'members[value eq "{user["id"]}"]'},
    )
    assert response.status_code == 204
    assert scim.get(f"/Groups/{group['id']}").json()["members"] == []


def test_preview_delete_a_non_existent_group(scim):
    assert scim.delete("/Groups/00000000-0000-0000-0000-000000000000").status_code == 404


def test_preview_delete_the_same_group_twice(scim, group):
    assert [scim.delete(f"/Groups/{group['id']}").status_code for _ in range(2)] == [204, 404]
