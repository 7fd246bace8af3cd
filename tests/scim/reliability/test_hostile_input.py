"""Hostile and malformed input: a SCIM Error, never a 500, and no change to the data.

Each case checks the status and scimType, and that the data is exactly as it was before.
"""

import json
from urllib.parse import quote

import pytest

from kestra_iam.models import Group, TenantAccess, User

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def snapshot():
    return (
        sorted(User.objects.values_list("user_name", "version")),
        sorted(
            TenantAccess.objects.values_list(
                "user__user_name", "active", "external_id", "title", "display_name", "version"
            )
        ),
        sorted(Group.objects.values_list("display_name", "external_id", "version")),
    )


@pytest.fixture
def existing(scim):
    user = scim.create_user("alice@example.com", title="Engineer", active=True)
    group = scim.create_group("Team", members=[{"value": user["id"]}])
    return {"user": user["id"], "group": group["id"]}


def refused(response, status, scim_type=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body


# --- body shape ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, scim_type",
    [
        ("", "invalidSyntax"),
        ("null", "invalidValue"),
        ("[]", "invalidValue"),
        ('{"userName": "truncated', "invalidSyntax"),
        ('{"userName": "a"} trailing', "invalidSyntax"),
        ("[" * 10_000 + "]" * 10_000, "invalidSyntax"),
        ('{"userName": "\\ud800"}', "invalidValue"),
        ('{"userName": "nul\\u0000byte"}', "invalidValue"),
    ],
    ids=[
        "empty",
        "null",
        "array",
        "truncated",
        "trailing-garbage",
        "deep",
        "lone-surrogate",
        "nul",
    ],
)
def test_malformed_bodies(scim, existing, raw, scim_type):
    before = snapshot()
    response = scim.client.post(scim.url("/Users"), raw, content_type="application/scim+json")
    refused(response, 400, scim_type)
    assert snapshot() == before


def test_duplicate_keys_take_the_last_value(scim):
    response = scim.post(
        "/Users", '{"userName": "first@example.com", "userName": "last@example.com"}'
    )
    assert response.status_code == 201 and response.json()["userName"] == "last@example.com"


def test_two_megabytes_is_413(scim, existing):
    before = snapshot()
    refused(scim.post("/Users", {"userName": "big@example.com", "title": "x" * 2_000_000}), 413)
    assert snapshot() == before


# --- schemas and attributes ---------------------------------------------------------------------


def test_a_group_body_on_users_is_refused(scim):
    refused(
        scim.post("/Users", {"schemas": [GROUP], "userName": "x@example.com"}), 400, "invalidSyntax"
    )
    refused(scim.post("/Groups", {"schemas": [USER], "displayName": "x"}), 400, "invalidSyntax")
    refused(
        scim.post("/Users", {"schemas": USER, "userName": "x@example.com"}), 400, "invalidSyntax"
    )
    assert not User.objects.exists()


def test_missing_schemas_and_unknown_extensions_are_accepted(scim):
    assert scim.post("/Users", {"userName": "noschemas@example.com"}).status_code == 201
    body = {
        "schemas": [USER, "urn:example:custom:2.0:User"],
        "userName": "custom@example.com",
        "urn:example:custom:2.0:User": {"x": 1},
    }
    assert scim.post("/Users", body).status_code == 201


def test_attribute_names_in_any_case(scim):
    created = scim.post(
        "/Users", {"USERNAME": "upper@example.com", "Name": {"GIVENNAME": "U"}}
    ).json()
    assert created["userName"] == "upper@example.com" and created["name"] == {"givenName": "U"}


def test_null_for_a_required_attribute(scim):
    refused(scim.post("/Users", {"userName": None}), 400, "invalidValue")
    refused(scim.post("/Groups", {"displayName": None}), 400, "invalidValue")


# --- userName and Unicode -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "user_name, message",
    [
        ("", "required"),
        ("   ", "whitespace"),
        (" padded@example.com", "whitespace"),
        ("padded@example.com ", "whitespace"),
        ("x" * 257, "longer than 256"),
        ("x" * 10_000, "longer than 256"),
        ("evil\u202egpj.exe@example.com", "U+202E"),  # right-to-left override
        ("ali\u200dce@example.com", "U+200D"),  # zero-width joiner
        ("tab\tbed@example.com", "U+0009"),
        # Each looks exactly like "admin" and would have been another user.
        ("admin\u034f", "U+034F"),  # combining grapheme joiner
        ("admin\ufe0f", "U+FE0F"),  # variation selector
        ("admin\u3164", "U+3164"),  # Hangul filler
        ("admin\u115f", "U+115F"),  # Hangul choseong filler
        ("admin\u2800", "U+2800"),  # Braille pattern blank
        ("admin\u180b", "U+180B"),  # Mongolian free variation selector
    ],
)
def test_bad_user_names(scim, existing, user_name, message):
    before = snapshot()
    body = refused(scim.post("/Users", {"userName": user_name}), 400, "invalidValue")
    assert message in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "first, second",
    [
        ("ALICE@EXAMPLE.COM", "alice@example.com"),
        ("Stra\u00dfe@example.com", "STRASSE@example.com"),  # ß and SS
        ("\u00e9lise@example.com", "e\u0301lise@example.com"),  # NFC and NFD
        ("\uff41lice@example.com", "alice@example.com"),  # fullwidth a
    ],
    ids=["case", "sharp-s", "nfc-nfd", "fullwidth"],
)
def test_unicode_variants_of_one_name_are_one_user(scim, first, second):
    scim.create_user(first)
    refused(scim.post("/Users", {"userName": second}), 409, "uniqueness")
    response = scim.get(f"/Users?filter={quote(f'userName eq {json.dumps(second)}')}")
    assert response.json()["totalResults"] == 1


def test_turkish_dotted_capital_i_is_not_a_plain_i(scim):
    scim.create_user("\u0130stanbul@example.com")  # İ
    assert scim.post("/Users", {"userName": "istanbul@example.com"}).status_code == 201


@pytest.mark.parametrize(
    "name", ["\U0001f680rocket@example.com", "名前@example.jp", 'quote"and\\slash@example.com']
)
def test_ordinary_unicode_and_quotes_are_stored_exactly(scim, name):
    user = scim.create_user(name)
    assert scim.get(f"/Users/{user['id']}").json()["userName"] == name
    expression = f"userName eq {json.dumps(name)}"
    assert scim.get(f"/Users?filter={quote(expression)}").json()["totalResults"] == 1


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filter_text",
    [
        'userName co "%"',
        'userName sw "_"',
        'displayName co "\\\\"',
    ],
)
def test_like_wildcards_match_literally(scim, existing, filter_text):
    assert scim.get(f"/Users?filter={quote(filter_text)}").json()["totalResults"] == 0


@pytest.mark.parametrize(
    "filter_text",
    [
        'userName eq "\\u0000"',
        'userName eq "\\ud800"',
        "name pr and",
        "((((",
        '"unbalanced',
        'emails pr"',
        # Moments with no UTC equivalent: no database could store them.
        'meta.created gt "0001-01-01T00:00:00+14:00"',
        'meta.lastModified lt "9999-12-31T23:59:59-14:00"',
    ],
)
def test_hostile_filters_are_invalid_filter(scim, existing, filter_text):
    refused(scim.get(f"/Users?filter={quote(filter_text)}"), 400, "invalidFilter")


# --- ids and paging -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    ["not-a-uuid", "1", "' OR 1=1 --", "%2e%2e", "00000000-0000-0000-0000-00000000000g"],
)
def test_bad_ids_are_404(scim, existing, identifier):
    for path in (f"/Users/{quote(identifier, safe='')}", f"/Groups/{quote(identifier, safe='')}"):
        refused(scim.get(path), 404)


@pytest.mark.parametrize("start", ["99999999999999999999", "2147483648", str(2**63)])
def test_a_start_index_beyond_any_result_set_is_invalid(scim, existing, start):
    for path in ("/Users", "/Groups"):
        response = refused(scim.get(f"{path}?startIndex={start}"), 400, "invalidValue")
        assert "startIndex" in response["detail"]
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "startIndex": start}
    refused(scim.post("/Users/.search", body), 400, "invalidValue")


# --- PATCH --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation, status, scim_type",
    [
        ({"op": "move", "path": "title", "value": "x"}, 400, "invalidSyntax"),
        ({"op": "copy", "path": "title"}, 400, "invalidSyntax"),
        ({"op": "replace", "path": "id", "value": "x"}, 400, "mutability"),
        (
            {"op": "replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"},
            400,
            "mutability",
        ),
        ({"op": "replace", "path": "meta.version", "value": "x"}, 400, "mutability"),
        ({"op": "replace", "path": "schemas", "value": []}, 400, "mutability"),
        ({"op": "replace", "path": "groups", "value": []}, 400, "mutability"),
        (
            {"op": "replace", "value": {"id": "00000000-0000-0000-0000-000000000001"}},
            400,
            "mutability",
        ),
        ({"op": "remove"}, 400, "noTarget"),
        ({"op": "replace", "path": "userName", "value": "nul\u0000"}, 400, "invalidValue"),
        ({"op": "replace", "path": "emails[", "value": "x"}, 400, "invalidPath"),
        ({"op": "replace", "path": "title", "value": {"nested": "object"}}, 400, "invalidValue"),
    ],
)
def test_hostile_user_patches_change_nothing(scim, existing, operation, status, scim_type):
    before = snapshot()
    refused(
        scim.patch_ops(
            f"/Users/{existing['user']}",
            {"op": "replace", "path": "title", "value": "first"},
            operation,
        ),
        status,
        scim_type,
    )
    assert snapshot() == before


def test_operations_missing_or_lowercase(scim, existing):
    before = snapshot()
    refused(
        scim.patch(
            f"/Users/{existing['user']}",
            {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},
        ),
        400,
        "invalidSyntax",
    )
    lower = scim.patch(
        f"/Users/{existing['user']}",
        {"operations": [{"op": "replace", "path": "title", "value": "Lower"}]},
    )
    assert lower.status_code == 200 and lower.json()["title"] == "Lower"
    assert snapshot() != before


def test_same_member_twice_in_one_operation(scim, existing):
    user = scim.create_user("twice@example.com")["id"]
    response = scim.patch_ops(
        f"/Groups/{existing['group']}",
        {"op": "add", "path": "members", "value": [{"value": user}, {"value": user}]},
    )
    assert response.status_code == 204
    members = scim.get(f"/Groups/{existing['group']}").json()["members"]
    assert sorted(m["value"] for m in members) == sorted([existing["user"], user])


def test_remove_all_members_is_allowed_and_replace_with_empty_too(scim, existing):
    assert (
        scim.patch_ops(
            f"/Groups/{existing['group']}", {"op": "replace", "path": "members", "value": []}
        ).status_code
        == 204
    )
    assert scim.get(f"/Groups/{existing['group']}").json()["members"] == []


@pytest.mark.parametrize("name", ["Admins\u034f", "Admins\u3164", "Admins\u2800"])
def test_group_names_refuse_invisible_characters_too(scim, existing, name):
    before = snapshot()
    body = refused(scim.post("/Groups", {"displayName": name}), 400, "invalidValue")
    assert "invisible" in body["detail"]
    assert snapshot() == before
