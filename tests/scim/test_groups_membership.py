"""Groups and their members: deltas, validation, uniqueness, and what PATCH answers."""

import pytest

from kestra_iam.models import Group, GroupMembership

pytestmark = pytest.mark.django_db

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture
def users(scim):
    return [scim.create_user(f"u{i}@example.com")["id"] for i in range(4)]


def member_ids(scim, group_id):
    body = scim.get(f"/Groups/{group_id}").json()
    return sorted(m["value"] for m in body.get("members", []))


def test_create_with_the_microsoft_schema_and_client_meta(scim):
    response = scim.post(
        "/Groups",
        {
            "schemas": [
                GROUP,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["displayName"] == "displayName" and body["members"] == []
    assert body["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert response["Location"] == body["meta"]["location"]


def test_display_name_is_unique_per_tenant_ignoring_case(scim, other_scim):
    scim.create_group("Engineering")
    duplicate = scim.post("/Groups", {"displayName": "ENGINEERING"})
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"
    assert other_scim.post("/Groups", {"displayName": "Engineering"}).status_code == 201


def test_rename_onto_another_group_is_a_conflict(scim):
    scim.create_group("A")
    b = scim.create_group("B")
    response = scim.patch_ops(
        f"/Groups/{b['id']}", {"op": "Replace", "path": "displayName", "value": "a"}
    )
    assert response.status_code == 409
    assert scim.get(f"/Groups/{b['id']}").json()["displayName"] == "B"


def test_entra_member_operations(scim, users):
    u1, u2, u3, u4 = users
    group = scim.create_group("Team")["id"]
    add = scim.patch_ops(
        f"/Groups/{group}",
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": u1}, {"value": u2}, {"value": u3}],
        },
    )
    assert add.status_code == 204 and add.content == b""
    assert member_ids(scim, group) == sorted([u1, u2, u3])
    # Remove with a value list removes only the listed members.
    scim.patch_ops(
        f"/Groups/{group}",
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": u1}]},
    )
    assert member_ids(scim, group) == sorted([u2, u3])
    # The flag form, and removing someone who is not a member.
    scim.patch_ops(f"/Groups/{group}", {"op": "remove", "path": f'members[value eq "{u2}"]'})
    assert (
        scim.patch_ops(
            f"/Groups/{group}", {"op": "remove", "path": f'members[value eq "{u4}"]'}
        ).status_code
        == 204
    )
    assert member_ids(scim, group) == [u3]
    # Adding again is idempotent.
    scim.patch_ops(f"/Groups/{group}", {"op": "Add", "path": "members", "value": [{"value": u3}]})
    assert GroupMembership.objects.filter(group_id=group).count() == 1


def test_operations_apply_in_order(scim, users):
    u1, u2, *_ = users
    group = scim.create_group("Team")["id"]
    scim.patch_ops(
        f"/Groups/{group}",
        {"op": "add", "path": "members", "value": [{"value": u1}]},
        {"op": "remove", "path": f'members[value eq "{u1}"]'},
        {"op": "add", "path": "members", "value": [{"value": u2}]},
    )
    assert member_ids(scim, group) == [u2]


def test_replace_and_remove_all(scim, users):
    u1, u2, u3, _ = users
    group = scim.create_group("Team", members=[{"value": u1}, {"value": u2}])["id"]
    scim.patch_ops(
        f"/Groups/{group}", {"op": "replace", "path": "members", "value": [{"value": u3}]}
    )
    assert member_ids(scim, group) == [u3]
    scim.patch_ops(f"/Groups/{group}", {"op": "remove", "path": "members"})
    assert member_ids(scim, group) == []


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "other-tenant"]
)
def test_invalid_members_change_nothing(scim, other_scim, users, bad):
    if bad == "other-tenant":
        bad = other_scim.create_user("stranger@example.com")["id"]
    group = scim.create_group("Team", members=[{"value": users[0]}])["id"]
    response = scim.patch_ops(
        f"/Groups/{group}",
        {"op": "add", "path": "members", "value": [{"value": users[1]}]},
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": bad}]},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["scimType"] == "invalidValue" and bad in body["detail"]
    assert member_ids(scim, group) == [users[0]]
    assert scim.get(f"/Groups/{group}").json()["displayName"] == "Team"


@pytest.mark.parametrize("member", [{"value": "nope"}, {"value": ""}, {"value": "  "}, {}])
def test_post_with_invalid_members_creates_nothing(scim, member):
    response = scim.post("/Groups", {"displayName": "Team", "members": [member]})
    assert response.status_code == 400, response.json()
    assert response.json()["scimType"] == "invalidValue"
    assert not Group.objects.exists()


def test_put_with_an_empty_member_value_changes_nothing(scim, users):
    group = scim.create_group("Team", members=[{"value": users[0]}])["id"]
    response = scim.put(f"/Groups/{group}", {"displayName": "Team", "members": [{"value": ""}]})
    assert response.status_code == 400
    assert "members[0].value is missing or empty" in response.json()["detail"]
    assert member_ids(scim, group) == [users[0]]


def test_patch_with_attributes_parameter_answers_the_resource(scim, users):
    group = scim.create_group("Team")["id"]
    response = scim.patch_ops(
        f"/Groups/{group}?excludedAttributes=members",
        {"op": "replace", "path": "displayName", "value": "Team 2"},
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "Team 2" and "members" not in response.json()


def test_no_path_group_updates_from_the_validator(scim):
    group = scim.create_group("Team")["id"]
    scim.patch_ops(f"/Groups/{group}", {"op": "replace", "value": {"externalId": "663fa3a8"}})
    scim.patch_ops(f"/Groups/{group}", {"op": "replace", "value": {"displayName": "MSADPJJZWBUS"}})
    body = scim.get(f"/Groups/{group}").json()
    assert (body["displayName"], body["externalId"]) == ("MSADPJJZWBUS", "663fa3a8")


def test_put_replaces_name_and_members(scim, users):
    group = scim.create_group("Team", externalId="e", members=[{"value": users[0]}])["id"]
    response = scim.put(
        f"/Groups/{group}", {"displayName": "Team", "members": [{"value": users[1]}]}
    )
    assert response.status_code == 200
    body = response.json()
    assert "externalId" not in body
    assert [m["value"] for m in body["members"]] == [users[1]]


def test_delete_group(scim, users):
    group = scim.create_group("Team", members=[{"value": users[0]}])["id"]
    assert scim.delete(f"/Groups/{group}").status_code == 204
    assert scim.delete(f"/Groups/{group}").status_code == 404
    assert scim.get(f"/Groups/{group}").status_code == 404
    assert not GroupMembership.objects.exists()


def test_excluded_members_are_absent_not_empty(scim, users):
    group = scim.create_group("Team", members=[{"value": users[0]}])["id"]
    assert "members" not in scim.get(f"/Groups/{group}?excludedAttributes=members").json()
    listed = scim.get("/Groups?excludedAttributes=members").json()["Resources"]
    assert listed and all("members" not in g for g in listed)


def test_member_display_when_asked(scim):
    user = scim.create_user("named@example.com", displayName="Named Person")
    group = scim.create_group("Team", members=[{"value": user["id"]}])["id"]
    plain = scim.get(f"/Groups/{group}").json()["members"][0]
    assert "display" not in plain and plain["type"] == "User"
    detailed = scim.get(f"/Groups/{group}?attributes=members.display,members.value").json()
    assert detailed["members"] == [{"value": user["id"], "display": "Named Person"}]


def test_disable_and_enable_keep_memberships(scim, users):
    group = scim.create_group("Team", members=[{"value": users[0]}])["id"]
    scim.patch_ops(f"/Users/{users[0]}", {"op": "Replace", "path": "active", "value": "False"})
    scim.patch_ops(f"/Users/{users[0]}", {"op": "Replace", "path": "active", "value": "True"})
    assert member_ids(scim, group) == [users[0]]


def test_large_groups_are_streamed_with_the_same_content(scim, settings):
    import json

    members = [scim.create_user(f"s{i}@example.com")["id"] for i in range(5)]
    group = scim.create_group("Streamed", externalId="st", members=[{"value": m} for m in members])
    small = scim.get(f"/Groups/{group['id']}").json()
    settings.SCIM = {**settings.SCIM, "stream_members_above": 3}
    for query, check in [
        ("", lambda body: body == small),
        (
            "?attributes=members.value",
            lambda body: body["members"] == [{"value": m["value"]} for m in small["members"]],
        ),
        (
            "?attributes=displayName",
            lambda body: "members" not in body and body["displayName"] == "Streamed",
        ),
    ]:
        response = scim.get(f"/Groups/{group['id']}{query}")
        assert response.streaming == (query != "?attributes=displayName")
        body = json.loads(
            b"".join(response.streaming_content) if response.streaming else response.content
        )
        assert check(body), (query, body)
        assert response["Content-Type"] == "application/scim+json"
        assert response["ETag"] == small["meta"]["version"]
    assert "members" not in scim.get(f"/Groups/{group['id']}?excludedAttributes=members").json()
