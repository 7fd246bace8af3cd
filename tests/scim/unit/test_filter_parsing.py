"""The filter grammar (RFC 7644 §3.4.2.2), without a database."""

import pytest

from scim import expressions
from scim.conf import SCIMSettings
from scim.expressions import (
    And,
    AttrPath,
    Comparison,
    ExpressionError,
    Limits,
    Not,
    Or,
    PatchPath,
    ValuePath,
    parse_attribute_list,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CONFIGURED = SCIMSettings().filter_limits  # the defaults the service runs with


def parse_filter(text, limits=CONFIGURED):
    return expressions.parse_filter(text, limits)


def parse_path(text, limits=CONFIGURED):
    return expressions.parse_path(text, limits)


def eq(attr, value, sub=None, uri=None):
    return Comparison(AttrPath(uri, attr, sub), "eq", value)


def test_and_binds_tighter_than_or():
    assert parse_filter('a eq "1" or b eq "2" and c eq "3"') == Or(
        eq("a", "1"), And(eq("b", "2"), eq("c", "3"))
    )
    assert parse_filter('a eq "1" and b eq "2" or c eq "3"') == Or(
        And(eq("a", "1"), eq("b", "2")), eq("c", "3")
    )


def test_parentheses_and_not():
    assert parse_filter('(a eq "1" or b eq "2") and not (c eq "3")') == And(
        Or(eq("a", "1"), eq("b", "2")), Not(eq("c", "3"))
    )


@pytest.mark.parametrize(
    "text, value",
    [
        ('x eq "O\\"Malley"', 'O"Malley'),
        ('x eq "back\\\\slash"', "back\\slash"),
        ('x eq "caf\\u00e9"', "café"),
        ("x eq 12", 12),
        ("x eq -3.5e2", -350.0),
        ("x eq true", True),
        ("x eq False", False),
        ("x eq null", None),
        ('x eq ""', ""),
    ],
)
def test_values_are_json_literals(text, value):
    assert parse_filter(text) == eq("x", value)


def test_keywords_and_operators_ignore_case():
    assert parse_filter('userName EQ "a" AND title Pr') == And(
        eq("userName", "a"), Comparison(AttrPath(None, "title"), "pr")
    )


def test_every_operator():
    for op in ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"):
        assert parse_filter(f'title {op} "x"') == Comparison(AttrPath(None, "title"), op, "x")


def test_sub_attributes_and_urns():
    assert parse_filter('name.familyName co "O"').path == AttrPath(None, "name", "familyName")
    assert parse_filter(f'{ENTERPRISE}:manager.value eq "m"').path == AttrPath(
        ENTERPRISE, "manager", "value"
    )
    assert parse_filter('meta.lastModified gt "2011-05-13T04:42:34Z"').path == AttrPath(
        None, "meta", "lastModified"
    )


def test_value_path_and_entra_form():
    assert parse_filter('emails[type eq "work" and value co "@example.com"]') == ValuePath(
        AttrPath(None, "emails"),
        And(eq("type", "work"), Comparison(AttrPath(None, "value"), "co", "@example.com")),
    )
    # Entra ID: emails[type eq "work"].value eq "x" means one email with both properties.
    assert parse_filter('emails[type eq "work"].value eq "x"') == ValuePath(
        AttrPath(None, "emails"), And(eq("type", "work"), eq("value", "x"))
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("userName eq", "Unexpected end"),
        ('userName regex "x"', "Unknown operator 'regex'"),
        ('(userName eq "a"', "expected ')'"),
        ('userName eq "a")', "Unexpected ')'"),
        ('userName eq "a" extra', "Unexpected 'extra'"),
        ('userName eq "unterminated', "Unexpected character"),
        ('"x" eq userName', "Expected an attribute name"),
        ("userName eq bare", "Expected a value"),
        ('emails[type eq "a"[x eq "b"]]', "Expected ']' at position 19"),
        ('emails[value[x eq "1"] eq "2"]', "cannot be nested"),
        ('userName eq "\\ud800"', "unpaired surrogate"),
        ('userName eq "\\u0000"', "NUL"),
        ('not userName eq "a"', "'(' after 'not'"),
        ('user%Name eq "a"', "Unexpected character"),
    ],
)
def test_malformed_filters_are_explained(text, message):
    with pytest.raises(ExpressionError) as excinfo:
        parse_filter(text)
    assert message in str(excinfo.value)


def test_bounds_on_length_depth_and_comparisons():
    limits = Limits(max_length=100, max_depth=3, max_comparisons=3)
    with pytest.raises(ExpressionError, match="Longer than 100"):
        parse_filter('title eq "' + "x" * 100 + '"', limits)
    with pytest.raises(ExpressionError, match="deeper than 3"):
        parse_filter('((((title eq "x"))))', limits)
    with pytest.raises(ExpressionError, match="More than 3 comparisons"):
        parse_filter(" or ".join(['title eq "x"'] * 4), limits)
    assert parse_filter(" or ".join(['title eq "x"'] * 3), limits)


def test_a_long_flat_or_chain_is_not_deep():
    assert parse_filter(" or ".join([f'title eq "{i}"' for i in range(50)]))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("userName", PatchPath(AttrPath(None, "userName"))),
        ("name.givenName", PatchPath(AttrPath(None, "name", "givenName"))),
        (f"{ENTERPRISE}:department", PatchPath(AttrPath(ENTERPRISE, "department"))),
        (f"{ENTERPRISE}:manager", PatchPath(AttrPath(ENTERPRISE, "manager"))),
        ('members[value eq "u1"]', PatchPath(AttrPath(None, "members"), eq("value", "u1"))),
        (
            'emails[type eq "work"].value',
            PatchPath(AttrPath(None, "emails"), eq("type", "work"), "value"),
        ),
        (
            'addresses[type eq "work"].streetAddress',
            PatchPath(AttrPath(None, "addresses"), eq("type", "work"), "streetAddress"),
        ),
    ],
)
def test_patch_paths(text, expected):
    assert parse_path(text) == expected


@pytest.mark.parametrize(
    "text", ["", "emails[", 'emails[type eq "x"]garbage', 'emails[type eq "x"].', "a.b.c", "1abc"]
)
def test_bad_patch_paths(text):
    with pytest.raises(ExpressionError):
        parse_path(text)


def test_attribute_lists():
    assert parse_attribute_list("userName, name.givenName ,emails") == [
        AttrPath(None, "userName"),
        AttrPath(None, "name", "givenName"),
        AttrPath(None, "emails"),
    ]
