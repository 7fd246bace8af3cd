"""The role permission vocabulary (no database)."""

import pytest
from django.core.exceptions import ValidationError

from kestra_iam.permissions import (
    normalise_permissions,
    permission_pairs,
    permissions_from_pairs,
)


def test_normalise_orders_and_deduplicates():
    assert normalise_permissions({"USERS": ["UPDATE", "READ", "READ"], "GROUPS": []}) == {
        "USERS": ["READ", "UPDATE"]
    }


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"PEOPLE": ["READ"]}, "Unknown resource 'PEOPLE'"),
        ({"USERS": ["PURGE"]}, "Unknown action 'PURGE' on USERS"),
        ({"USERS": "READ"}, "must be a list"),
        (["USERS"], "must be a mapping"),
    ],
)
def test_normalise_rejects_unknown_values_by_name(raw, message):
    with pytest.raises(ValidationError, match=message):
        normalise_permissions(raw)


def test_pairs_round_trip():
    permissions = {"GROUPS": ["CREATE", "DELETE"], "USERS": ["READ"]}
    assert permissions_from_pairs(permission_pairs(permissions)) == {
        "USERS": ["READ"],
        "GROUPS": ["CREATE", "DELETE"],
    }
