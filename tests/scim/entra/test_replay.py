"""Entra ID's documented traffic replayed against a live server, in default and flag mode.

The scenarios follow the request and response shapes Microsoft documents for its provisioning
service ("Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID"
and "Known issues and resolutions with SCIM 2.0 protocol compliance", Microsoft Learn), and the
tolerances listed in scim/quirks.py; each checks the status, the body and what a follow-up GET
shows.
"""

from urllib.parse import quote

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MANAGER = f"{ENTERPRISE}:manager"


def filter_path(resource: str, expression: str, excluded: str | None = None) -> str:
    query = f"filter={quote(expression, safe='')}".replace("%20", "+")
    if excluded:
        query = f"excludedAttributes={excluded}&{query}"
    return f"/{resource}?{query}"


def entra_user(user_name: str, external_id: str = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef") -> dict:
    """The body Entra POSTs to create a user."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"mail.{user_name}"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
    }


def create_user(entra, user_name: str, **extra) -> dict:
    response = entra.post("/Users", {**entra_user(user_name), **extra})
    assert response.status == 201, response.body
    return response.json()


def test_test_connection(entra):
    """Test Connection: a random-GUID lookup with no Accept, Content-Type or User-Agent."""
    for path in (
        "/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22",
        filter_path("Groups", 'displayName eq "1b5e2a4c-7d9f-4c1e-9a8b-2f3d4e5f6a7b"', "members"),
    ):
        response = entra.get(path)
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/scim+json"
        assert response.json() == {
            "schemas": [LIST],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": [],
        }


def test_bad_token_fails_test_connection(entra):
    entra.token = "not-the-token"
    response = entra.get("/Users?filter=userName+eq+%22x%22")
    assert response.status == 401 and response.json()["status"] == "401"


def test_user_lifecycle(entra):
    user_name = "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    # R2: match by userName → nothing; R3: create.
    assert entra.get(filter_path("Users", f'userName eq "{user_name}"')).json()["totalResults"] == 0
    created = entra.post("/Users", entra_user(user_name))
    assert created.status == 201
    user = created.json()
    assert user["userName"] == user_name and user["active"] is True
    assert created.headers["Location"] == user["meta"]["location"]
    user_id = user["id"]

    # Duplicate (any case) → 409 uniqueness with a string status.
    duplicate = entra.post("/Users", entra_user(user_name.upper()))
    assert duplicate.status == 409
    assert duplicate.json()["scimType"] == "uniqueness" and duplicate.json()["status"] == "409"

    # Matching by each documented attribute, value case-insensitive where the schema says so.
    for expression in (
        f'userName eq "{user_name.upper()}"',
        f'UserName eq "{user_name}"',
        'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"',
        f'emails[type eq "work"].value eq "MAIL.{user_name}"',
    ):
        found = entra.get(filter_path("Users", expression)).json()
        assert [r["id"] for r in found["Resources"]] == [user_id], expression

    # R5: attribute updates, in the shape of the mode.
    op = entra.op
    if entra.flag:
        response = entra.patch(
            f"/Users/{user_id}",
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestMhvaes@test.microsoft.com",
            },
            {
                "op": "replace",
                "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    f"{ENTERPRISE}:employeeNumber": "Aklq",
                    "externalId": "Eqpj",
                },
            },
        )
    else:
        response = entra.patch(
            f"/Users/{user_id}",
            {"op": "Replace", "path": "displayName", "value": "Bjfe"},
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "TestMhvaes@test.microsoft.com",
            },
            {"op": "Replace", "path": "name.givenName", "value": "Kkom"},
            {"op": "Replace", "path": "name.familyName", "value": "Unua"},
            {"op": "Replace", "path": "externalId", "value": "Eqpj"},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Aklq"},
        )
    assert response.status == 200  # a user PATCH answers with the resource
    for body in (response.json(), entra.get(f"/Users/{user_id}").json()):
        assert body["displayName"] == "Bjfe" and body["externalId"] == "Eqpj"
        assert body["name"] == {
            "formatted": "givenName familyName",
            "givenName": "Kkom",
            "familyName": "Unua",
        }
        assert body["emails"] == [
            {"value": "TestMhvaes@test.microsoft.com", "type": "work", "primary": True}
        ]
        assert body[ENTERPRISE] == {"employeeNumber": "Aklq"}

    # Add of an attribute the target lacks; a rename of the userName.
    assert (
        entra.patch(
            f"/Users/{user_id}", {"op": op("add"), "path": "nickName", "value": "Babs"}
        ).json()["nickName"]
        == "Babs"
    )
    renamed = entra.patch(
        f"/Users/{user_id}",
        {"op": op("replace"), "path": "userName", "value": "5b50642d@testuser.com"},
    )
    assert renamed.json()["userName"] == "5b50642d@testuser.com"

    # R6: disable and re-enable: strings by default, booleans with the flag; always booleans back.
    disabled_value, enabled_value = (False, True) if entra.flag else ("False", "True")
    disabled = entra.patch(
        f"/Users/{user_id}",
        {"op": op("replace"), "path": "active", "value": disabled_value},
        schemas_last=True,
    )
    assert disabled.status == 200 and disabled.json()["active"] is False
    assert entra.get(f"/Users/{user_id}").json()["active"] is False
    listed = entra.get(filter_path("Users", 'userName eq "5b50642d@testuser.com"')).json()[
        "Resources"
    ]
    assert listed[0]["active"] is False  # inactive users are still returned
    enabled = entra.patch(
        f"/Users/{user_id}", {"op": op("replace"), "path": "active", "value": enabled_value}
    )
    assert enabled.json()["active"] is True

    # R7: delete, then delete again, then re-create with the same id.
    assert entra.delete(f"/Users/{user_id}").status == 204
    assert entra.delete(f"/Users/{user_id}").status == 404
    assert entra.get(f"/Users/{user_id}").status == 404
    again = entra.post("/Users", entra_user("5b50642d@testuser.com"))
    assert again.status == 201 and again.json()["id"] == user_id


def test_filtered_replace_creates_the_missing_value(entra):
    user = create_user(
        entra, "nowork@example.com", emails=[{"type": "home", "value": "h@example.com"}]
    )
    response = entra.patch(
        f"/Users/{user['id']}",
        {
            "op": entra.op("replace"),
            "path": 'emails[type eq "work"].value',
            "value": "w@example.com",
        },
        {
            "op": entra.op("replace"),
            "path": 'phoneNumbers[type eq "mobile"].value',
            "value": "555-0100",
        },
    )
    body = response.json()
    assert {"type": "work", "value": "w@example.com"} in body["emails"]
    assert body["phoneNumbers"] == [{"type": "mobile", "value": "555-0100"}]
    # Capital "Value" as in Microsoft's mapping table: attribute names ignore case.
    other = entra.patch(
        f"/Users/{user['id']}",
        {"op": entra.op("add"), "path": 'emails[Type eq "other"].Value', "value": "o@example.com"},
    )
    assert {"type": "other", "value": "o@example.com"} in other.json()["emails"]


def test_two_adds_build_one_address(entra):
    user = create_user(entra, "addr@example.com")
    body = entra.patch(
        f"/Users/{user['id']}",
        {
            "op": entra.op("add"),
            "path": 'addresses[type eq "work"].streetAddress',
            "value": "1 Microsoft Way",
        },
        {"op": entra.op("add"), "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
        {"op": entra.op("add"), "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
    ).json()
    assert body["addresses"] == [
        {
            "type": "work",
            "streetAddress": "1 Microsoft Way",
            "locality": "Redmond",
            "postalCode": "98052",
        }
    ]


def test_manager_set_change_and_clear(entra):
    boss = create_user(entra, "boss@example.com", externalId="b")
    deputy = create_user(entra, "deputy@example.com", externalId="d")
    user = create_user(entra, "report@example.com", externalId="r")
    op = entra.op
    first = {"value": boss["id"]} if entra.flag else boss["id"]  # default mode: a bare string id
    body = entra.patch(
        f"/Users/{user['id']}", {"op": op("add"), "path": MANAGER, "value": first}
    ).json()
    assert body[ENTERPRISE]["manager"]["value"] == boss["id"]
    body = entra.patch(
        f"/Users/{user['id']}",
        {"op": op("replace"), "path": MANAGER, "value": {"value": deputy["id"]}},
    ).json()
    assert body[ENTERPRISE]["manager"]["value"] == deputy["id"]
    # Returned under the enterprise key, so Entra reaches a steady state.
    assert entra.get(f"/Users/{user['id']}").json()[ENTERPRISE]["manager"]["value"] == deputy["id"]
    clear = {"value": ""} if entra.flag else ""
    body = entra.patch(
        f"/Users/{user['id']}", {"op": op("replace"), "path": MANAGER, "value": clear}
    ).json()
    assert ENTERPRISE not in body
    # The old list shape, then removal by filter.
    entra.patch(
        f"/Users/{user['id']}",
        {"op": op("add"), "path": "manager", "value": [{"$ref": "x", "value": boss["id"]}]},
    )
    assert entra.get(f"/Users/{user['id']}").json()[ENTERPRISE]["manager"]["value"] == boss["id"]
    entra.patch(
        f"/Users/{user['id']}", {"op": op("remove"), "path": f'{MANAGER}[value eq "{boss["id"]}"]'}
    )
    assert ENTERPRISE not in entra.get(f"/Users/{user['id']}").json()


def test_null_values_old_schema_typo_and_string_primary(entra):
    body = {
        **entra_user("legacy@example.com"),
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "addresses": None,
        "phoneNumbers": None,
        "title": None,
        ENTERPRISE: {"department": None, "manager": None},
        "roles": [
            {
                "primary": "True",
                "type": "WindowsAzureActiveDirectoryRole",
                "value": "Admin",
                "display": "Admin",
            }
        ],
    }
    response = entra.post("/Users", body)
    assert response.status == 201, response.body
    assert response.json()["roles"] == [
        {
            "primary": True,
            "type": "WindowsAzureActiveDirectoryRole",
            "value": "Admin",
            "display": "Admin",
        }
    ]


def test_role_patch_with_a_json_string_value(entra):
    user = create_user(entra, "roles@example.com")
    value = '{"id":"06b07648-ecfa-4b4b-8f54-2a10e7d2d9a4","value":"25","displayName":"Role1234"}'
    body = entra.patch(
        f"/Users/{user['id']}",
        {"op": entra.op("add"), "path": "roles", "value": [{"value": value}]},
    ).json()
    assert body["roles"] == [{"value": value}]


def test_repeating_a_patch_changes_nothing(entra):
    user = create_user(entra, "steady@example.com")
    operation = {"op": entra.op("replace"), "path": "displayName", "value": "Steady"}
    first = entra.patch(f"/Users/{user['id']}", operation).json()
    second = entra.patch(f"/Users/{user['id']}", operation).json()
    assert first["meta"]["version"] == second["meta"]["version"]


def test_group_lifecycle(entra):
    op = entra.op
    users = [
        create_user(entra, f"member{i}@example.com", externalId=f"m{i}")["id"] for i in range(3)
    ]
    u1, u2, u3 = users
    # R8: matching with members excluded; R9: create with Microsoft's schema URI and client meta.
    assert (
        entra.get(filter_path("Groups", 'displayName eq "displayName"', "members")).json()[
            "totalResults"
        ]
        == 0
    )
    created = entra.post(
        "/Groups",
        {
            "schemas": [GROUP, ADSCIM],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        },
    )
    assert created.status == 201
    group = created.json()
    assert group["members"] == [] and group["displayName"] == "displayName"
    group_id = group["id"]
    assert entra.post("/Groups", {"schemas": [GROUP], "displayName": "DISPLAYNAME"}).status == 409

    # R8/R10: different case, members left out entirely.
    found = entra.get(filter_path("Groups", 'displayName eq "DisplayName"', "members")).json()
    assert [g["id"] for g in found["Resources"]] == [group_id]
    assert all("members" not in g for g in found["Resources"])
    assert "members" not in entra.get(f"/Groups/{group_id}?excludedAttributes=members").json()

    # R11: rename (204), by path or, as the validator does, without one.
    if entra.flag:
        renamed = entra.patch(
            f"/Groups/{group_id}", {"op": "replace", "value": {"displayName": "Renamed"}}
        )
    else:
        renamed = entra.patch(
            f"/Groups/{group_id}", {"op": "Replace", "path": "displayName", "value": "Renamed"}
        )
    assert renamed.status == 204 and renamed.body == b""
    assert entra.get(f"/Groups/{group_id}").json()["displayName"] == "Renamed"

    # Add members ($ref null by default), twice: idempotent.
    members = (
        [{"$ref": None, "value": u1}, {"value": u2}]
        if not entra.flag
        else [{"value": u1}, {"value": u2}]
    )
    for _ in range(2):
        added = entra.patch(
            f"/Groups/{group_id}", {"op": op("add"), "path": "members", "value": members}
        )
        assert added.status == 204
    assert sorted(m["value"] for m in entra.get(f"/Groups/{group_id}").json()["members"]) == sorted(
        [u1, u2]
    )

    # Remove one member: a value list by default (never the whole group), a filter with the flag.
    if entra.flag:
        removed = entra.patch(
            f"/Groups/{group_id}", {"op": "remove", "path": f'members[value eq "{u1}"]'}
        )
    else:
        removed = entra.patch(
            f"/Groups/{group_id}",
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": u1}]},
        )
    assert removed.status == 204
    assert [m["value"] for m in entra.get(f"/Groups/{group_id}").json()["members"]] == [u2]

    # Removing a non-member succeeds; several member operations apply in order.
    assert (
        entra.patch(
            f"/Groups/{group_id}", {"op": op("remove"), "path": f'members[value eq "{u3}"]'}
        ).status
        == 204
    )
    entra.patch(
        f"/Groups/{group_id}",
        {"op": op("add"), "path": "members", "value": [{"value": u3}]},
        {"op": op("remove"), "path": f'members[value eq "{u3}"]'},
        {"op": op("add"), "path": "members", "value": [{"value": u1}]},
    )
    assert sorted(m["value"] for m in entra.get(f"/Groups/{group_id}").json()["members"]) == sorted(
        [u1, u2]
    )

    # Disabling and re-enabling a member keeps its memberships.
    entra.patch(
        f"/Users/{u1}",
        {"op": op("replace"), "path": "active", "value": False if entra.flag else "False"},
    )
    entra.patch(
        f"/Users/{u1}",
        {"op": op("replace"), "path": "active", "value": True if entra.flag else "True"},
    )
    assert sorted(m["value"] for m in entra.get(f"/Groups/{group_id}").json()["members"]) == sorted(
        [u1, u2]
    )

    # R12: delete, then again.
    assert entra.delete(f"/Groups/{group_id}").status == 204
    assert entra.delete(f"/Groups/{group_id}").status == 404


def test_reference_checks(entra):
    """Reference checks (historical): `id eq … and members eq …` and `… and manager eq …`."""
    boss = create_user(entra, "refboss@example.com")
    user = create_user(entra, "refuser@example.com")
    entra.patch(
        f"/Users/{user['id']}",
        {"op": entra.op("add"), "path": MANAGER, "value": {"value": boss["id"]}},
    )
    group = entra.post("/Groups", {"schemas": [GROUP], "displayName": "Ref"}).json()
    entra.patch(
        f"/Groups/{group['id']}",
        {"op": entra.op("add"), "path": "members", "value": [{"value": user["id"]}]},
    )

    hit = entra.get(
        filter_path("Groups", f'id eq "{group["id"]}" and members eq "{user["id"]}"')
        + "&attributes=id"
    )
    assert hit.json()["Resources"] == [{"schemas": [GROUP], "id": group["id"]}]
    miss = entra.get(
        filter_path("Groups", f'id eq "{group["id"]}" and members eq "{boss["id"]}"')
        + "&attributes=id"
    )
    assert miss.json()["Resources"] == []
    managed = entra.get(
        filter_path("Users", f'id eq "{user["id"]}" and manager eq "{boss["id"]}"')
        + "&attributes=id"
    )
    assert managed.json()["Resources"] == [{"schemas": [USER], "id": user["id"]}]


def test_schema_discovery(entra):
    body = entra.get("/Schemas").json()
    assert body["schemas"] == [LIST]
    assert {s["id"] for s in body["Resources"]} == {USER, GROUP, ENTERPRISE}


def test_pagination_for_account_discovery(entra):
    ids = [create_user(entra, f"page{i}@example.com")["id"] for i in range(5)]
    first = entra.get("/Users?startIndex=1&count=2").json()
    assert (first["startIndex"], first["itemsPerPage"], first["totalResults"]) == (1, 2, 5)
    second = entra.get("/Users?startIndex=3&count=2").json()
    assert [r["id"] for r in first["Resources"] + second["Resources"]] == ids[:4]


def test_a_burst_of_requests_gets_no_server_error(entra):
    """A gallery-rate burst (the rate itself is measured by the benchmarks)."""
    from concurrent.futures import ThreadPoolExecutor

    create_user(entra, "burst@example.com")
    paths = [filter_path("Users", f'userName eq "burst{i % 3}@example.com"') for i in range(60)]
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(lambda p: entra.get(p).status, paths))
    assert statuses == [200] * len(paths)
