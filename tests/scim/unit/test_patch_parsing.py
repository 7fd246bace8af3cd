"""PATCH parsing and application on documents, without a database."""

import pytest

from scim import groups as group_resource
from scim import users as user_resource
from scim.conf import SCIMSettings
from scim.exceptions import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    TooMany,
)
from scim.operations import parse_operations
from scim.patch import MemberChange, PatchApplier
from scim.schema import ENTERPRISE_URN, GROUP_RESOURCE, PATCH_OP_URN, USER_RESOURCE

USER_ID = "2819c223-7f76-453a-919d-413861904646"
DEFAULT_LIMITS = SCIMSettings().filter_limits


def ops(*operations, **body):
    return parse_operations(
        {"schemas": [PATCH_OP_URN], "Operations": list(operations), **body},
        max_operations=1000,
        limits=DEFAULT_LIMITS,
    )


def apply_user(document, *operations):
    applier = PatchApplier(
        USER_RESOURCE,
        user_resource.CLEANER,
        resource_id=USER_ID,
        limits=DEFAULT_LIMITS,
        max_members=10_000,
    )
    return applier.apply(document, ops(*operations))


def apply_group(document, *operations, max_members=10_000):
    applier = PatchApplier(
        GROUP_RESOURCE,
        group_resource.CLEANER,
        resource_id=USER_ID,
        limits=DEFAULT_LIMITS,
        member_attribute="members",
        max_members=max_members,
    )
    return applier.apply(document, ops(*operations))


BASE = {"userName": "bjensen", "active": True}


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, error, message",
    [
        ([], InvalidSyntax, "PatchOp JSON object"),
        (
            {"schemas": ["urn:wrong"], "Operations": [{"op": "add"}]},
            InvalidSyntax,
            "schemas must contain",
        ),
        ({"schemas": [PATCH_OP_URN]}, InvalidSyntax, "non-empty array"),
        ({"schemas": [PATCH_OP_URN], "Operations": []}, InvalidSyntax, "non-empty array"),
        ({"Operations": [{"op": "move", "path": "a"}]}, InvalidSyntax, "add, remove or replace"),
        ({"Operations": [{"op": "copy"}]}, InvalidSyntax, "add, remove or replace"),
        ({"Operations": ["add"]}, InvalidSyntax, "must be an object"),
        ({"Operations": [{"op": "add", "path": 3}]}, InvalidPath, "must be a string"),
        ({"Operations": [{"op": "add", "path": "emails[type"}]}, InvalidPath, "is invalid"),
    ],
)
def test_malformed_requests(body, error, message):
    with pytest.raises(error) as excinfo:
        parse_operations(body, max_operations=1000, limits=DEFAULT_LIMITS)
    assert message in str(excinfo.value)


def test_ops_and_keys_in_any_case_and_schemas_after_operations():
    parsed = parse_operations(
        {
            "operations": [{"OP": "Replace", "Path": "active", "Value": "False"}],
            "schemas": [PATCH_OP_URN],
        },
        max_operations=10,
        limits=DEFAULT_LIMITS,
    )
    assert [(o.op, str(o.path.attr), o.value) for o in parsed] == [("replace", "active", "False")]


def test_too_many_operations():
    with pytest.raises(TooMany):
        parse_operations(
            {"Operations": [{"op": "add", "path": "title", "value": "x"}] * 11},
            max_operations=10,
            limits=DEFAULT_LIMITS,
        )


# --- simple and complex attributes -----------------------------------------------------------


def test_replace_add_remove_simple_attributes():
    result = apply_user(
        BASE,
        {"op": "Replace", "path": "displayName", "value": "Babs"},
        {"op": "Add", "path": "nickName", "value": "B"},
        {"op": "add", "path": "title", "value": "Tour Guide"},
        {"op": "Remove", "path": "title"},
    )
    assert result.document == {**BASE, "displayName": "Babs", "nickName": "B"}


def test_entra_string_booleans():
    for value, expected in [("False", False), ("True", True), ("false", False), (False, False)]:
        assert (
            apply_user(BASE, {"op": "Replace", "path": "active", "value": value}).document["active"]
            is expected
        )
    with pytest.raises(InvalidValue, match="must be a boolean"):
        apply_user(BASE, {"op": "replace", "path": "active", "value": "nope"})


def test_attribute_names_ignore_case():
    result = apply_user(BASE, {"op": "replace", "path": "DISPLAYNAME", "value": "x"})
    assert result.document["displayName"] == "x"


def test_complex_attribute_sub_paths_and_merge():
    result = apply_user(
        {**BASE, "name": {"givenName": "Barbara", "familyName": "Jensen"}},
        {"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"},
        {"op": "replace", "path": "name", "value": {"middleName": "J"}},
    )
    assert result.document["name"] == {
        "givenName": "Barbara",
        "familyName": "Jensen-Smith",
        "middleName": "J",
    }


def test_no_path_replace_with_dotted_and_urn_keys():
    result = apply_user(
        BASE,
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENTERPRISE_URN}:employeeNumber": "Aklq",
                "active": False,
            },
        },
    )
    assert result.document == {
        "userName": "bjensen",
        "active": False,
        "displayName": "Bjfe",
        "name": {"givenName": "Kkom", "familyName": "Unua"},
        ENTERPRISE_URN: {"employeeNumber": "Aklq"},
    }


def test_no_path_add_with_nested_extension_object():
    result = apply_user(BASE, {"op": "add", "value": {ENTERPRISE_URN: {"department": "R&D"}}})
    assert result.document[ENTERPRISE_URN] == {"department": "R&D"}


def test_remove_without_path_is_no_target():
    with pytest.raises(NoTarget):
        apply_user(BASE, {"op": "remove"})


def test_required_attribute_cannot_be_removed():
    with pytest.raises(InvalidValue, match="userName is required"):
        apply_user(BASE, {"op": "remove", "path": "userName"})


@pytest.mark.parametrize(
    "path", ["id", "meta", "meta.created", "meta.version", "groups", "schemas"]
)
def test_read_only_paths_are_mutability_errors(path):
    with pytest.raises(Mutability):
        apply_user(BASE, {"op": "replace", "path": path, "value": "x"})


def test_okta_rename_may_carry_the_resources_own_id():
    result = apply_user(BASE, {"op": "replace", "value": {"id": USER_ID, "displayName": "x"}})
    assert result.document["displayName"] == "x"
    with pytest.raises(Mutability):
        apply_user(BASE, {"op": "replace", "value": {"id": "another", "displayName": "x"}})


def test_unknown_attribute_is_invalid_path():
    with pytest.raises(InvalidPath, match="Unknown attribute"):
        apply_user(BASE, {"op": "add", "path": "favouriteColour", "value": "x"})
    with pytest.raises(InvalidPath, match="no sub-attribute"):
        apply_user(BASE, {"op": "add", "path": "name.nickname", "value": "x"})


# --- multi-valued attributes ----------------------------------------------------------------


EMAILS = {
    **BASE,
    "emails": [
        {"value": "b@work.example", "type": "work", "primary": True},
        {"value": "b@home.example", "type": "home"},
    ],
}


def test_replace_filtered_sub_attribute():
    result = apply_user(
        EMAILS,
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@work.example"},
    )
    assert result.document["emails"][0] == {
        "value": "new@work.example",
        "type": "work",
        "primary": True,
    }
    assert result.document["emails"][1] == EMAILS["emails"][1]


def test_replace_on_a_filter_matching_nothing_creates_the_value():
    result = apply_user(
        BASE, {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@work.example"}
    )
    assert result.document["emails"] == [{"type": "work", "value": "x@work.example"}]


def test_two_adds_to_one_filtered_address_build_one_value():
    result = apply_user(
        BASE,
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Main St"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Springfield"},
    )
    assert result.document["addresses"] == [
        {"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}
    ]


def test_a_filter_that_cannot_describe_a_value_is_no_target():
    with pytest.raises(NoTarget):
        apply_user(BASE, {"op": "replace", "path": 'emails[value co "x"].type', "value": "work"})


def test_add_appends_without_duplicates_and_replace_replaces():
    new = {"value": "c@example.com", "type": "other"}
    added = apply_user(EMAILS, {"op": "add", "path": "emails", "value": [new, EMAILS["emails"][1]]})
    assert added.document["emails"] == [*EMAILS["emails"], new]
    replaced = apply_user(EMAILS, {"op": "replace", "path": "emails", "value": [new]})
    assert replaced.document["emails"] == [new]


def test_remove_filtered_values_and_sub_attributes():
    removed = apply_user(EMAILS, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert removed.document["emails"] == [EMAILS["emails"][0]]
    stripped = apply_user(EMAILS, {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert stripped.document["emails"][0] == {"value": "b@work.example", "type": "work"}
    nothing = apply_user(EMAILS, {"op": "remove", "path": 'emails[type eq "fax"]'})
    assert nothing.document == EMAILS


def test_remove_with_a_value_list_removes_only_those():
    result = apply_user(
        EMAILS, {"op": "Remove", "path": "emails", "value": [{"value": "b@home.example"}]}
    )
    assert result.document["emails"] == [EMAILS["emails"][0]]


def test_setting_primary_keeps_one_primary():
    result = apply_user(
        EMAILS, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"}
    )
    assert [e.get("primary") for e in result.document["emails"]] == [False, True]


def test_two_primaries_in_one_value_are_refused():
    with pytest.raises(InvalidValue, match="more than one value marked primary"):
        apply_user(
            BASE,
            {
                "op": "replace",
                "path": "emails",
                "value": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            },
        )


def test_multi_valued_sub_attribute_without_filter_is_refused():
    with pytest.raises(InvalidPath, match="select values with a filter"):
        apply_user(EMAILS, {"op": "replace", "path": "emails.value", "value": "x"})


def test_unknown_sub_attribute_in_value_filter():
    with pytest.raises(InvalidFilter):
        apply_user(EMAILS, {"op": "replace", "path": 'emails[colour eq "red"].value', "value": "x"})


def test_entra_role_with_json_string_value_is_kept_as_is():
    value = '{"id":"06b07648","value":"25","displayName":"Role1234"}'
    result = apply_user(BASE, {"op": "Add", "path": "roles", "value": [{"value": value}]})
    assert result.document["roles"] == [{"value": value}]


# --- manager ---------------------------------------------------------------------------------


MANAGER = f"{ENTERPRISE_URN}:manager"


@pytest.mark.parametrize(
    "value",
    [
        "m-1",
        {"value": "m-1"},
        [{"$ref": "https://example/Users/m-1", "value": "m-1"}],
    ],
    ids=["bare-string", "object", "old-list"],
)
def test_manager_shapes(value):
    result = apply_user(BASE, {"op": "Add", "path": MANAGER, "value": value})
    assert result.document[ENTERPRISE_URN]["manager"]["value"] == "m-1"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": MANAGER, "value": ""},
        {"op": "replace", "path": MANAGER, "value": {"value": ""}},
        {"op": "remove", "path": f'{MANAGER}[value eq "m-1"]'},
        {"op": "remove", "path": MANAGER},
    ],
    ids=["empty-string", "empty-value", "remove-filtered", "remove"],
)
def test_manager_removal(operation):
    document = {**BASE, ENTERPRISE_URN: {"manager": {"value": "m-1"}}}
    assert ENTERPRISE_URN not in apply_user(document, operation).document


def test_removing_another_manager_changes_nothing():
    document = {**BASE, ENTERPRISE_URN: {"manager": {"value": "m-1"}}}
    result = apply_user(document, {"op": "remove", "path": f'{MANAGER}[value eq "m-2"]'})
    assert result.document == document


def test_whole_extension_paths():
    document = {**BASE, ENTERPRISE_URN: {"department": "A", "division": "B"}}
    replaced = apply_user(
        document,
        {
            "op": "replace",
            "path": ENTERPRISE_URN,
            "value": {"department": "C", "schemas": [ENTERPRISE_URN]},
        },
    )
    assert replaced.document[ENTERPRISE_URN] == {"department": "C", "division": "B"}
    removed = apply_user(document, {"op": "remove", "path": ENTERPRISE_URN})
    assert ENTERPRISE_URN not in removed.document


# --- password --------------------------------------------------------------------------------


def test_password_is_set_aside_and_never_in_the_document():
    result = apply_user(BASE, {"op": "replace", "path": "password", "value": "s3cret!"})
    assert result.password == "s3cret!" and "password" not in result.document


# --- atomicity -------------------------------------------------------------------------------


def test_a_failing_operation_leaves_the_input_untouched():
    document = {**BASE, "displayName": "before"}
    with pytest.raises(InvalidPath):
        apply_user(
            document,
            {"op": "replace", "path": "displayName", "value": "after"},
            {"op": "replace", "path": "title", "value": "x"},
            {"op": "replace", "path": "nope", "value": "x"},
        )
    assert document == {**BASE, "displayName": "before"}


# --- group members ---------------------------------------------------------------------------


def test_member_operations_become_ordered_changes():
    result = apply_group(
        {"displayName": "g"},
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u1"}, {"value": "u2"}]},
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "u1"}]},
        {"op": "remove", "path": 'members[value eq "u2"]'},
        {"op": "replace", "path": "members", "value": [{"value": "u3"}]},
        {"op": "remove", "path": "members"},
        {"op": "add", "path": "members", "value": "u4"},
    )
    assert result.member_changes == [
        MemberChange("add", ["u1", "u2"]),
        MemberChange("remove", ["u1"]),
        MemberChange("remove", ["u2"]),
        MemberChange("replace", ["u3"]),
        MemberChange("replace", []),
        MemberChange("add", ["u4"]),
    ]


def test_group_rename_by_path_and_without_path():
    assert apply_group(
        {"displayName": "a"}, {"op": "Replace", "path": "displayName", "value": "b"}
    ).document == {"displayName": "b"}
    result = apply_group(
        {"displayName": "a"}, {"op": "replace", "value": {"externalId": "e", "displayName": "c"}}
    )
    assert result.document == {"displayName": "c", "externalId": "e"}


def test_member_filters_must_select_by_id():
    with pytest.raises(InvalidFilter):
        apply_group({"displayName": "g"}, {"op": "remove", "path": 'members[display eq "x"]'})


def test_member_limit():
    with pytest.raises(TooMany):
        apply_group(
            {"displayName": "g"},
            {"op": "add", "path": "members", "value": [{"value": str(i)} for i in range(11)]},
            max_members=10,
        )


def test_member_values_need_an_id():
    with pytest.raises(InvalidValue, match="member's id"):
        apply_group(
            {"displayName": "g"}, {"op": "add", "path": "members", "value": [{"display": "x"}]}
        )


def test_the_members_an_entra_add_names_are_read_without_applying_anything():
    from scim.patch import members_added

    operations = ops(
        {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
        {"op": "add", "path": "members", "value": [{"value": 3}, "c", {"display": "d"}]},
        {"op": "remove", "path": "members", "value": [{"value": "e"}]},
        {"op": "add", "path": 'members[value eq "f"]', "value": [{"value": "f"}]},
        {"op": "add", "value": {"members": [{"value": "g"}]}},
    )
    assert members_added(operations) == ["a", "b"]  # the rest the locked path resolves
