"""Property-based tests: generated filters and PATCH bodies against the SCIM endpoint.

Whatever is sent, the answer is never a 5xx; a refusal is a well-formed SCIM Error; and a
refused request leaves the resource exactly as it was.
"""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_TYPES = {
    None,
    "invalidFilter",
    "invalidSyntax",
    "invalidPath",
    "invalidValue",
    "noTarget",
    "mutability",
    "uniqueness",
    "tooMany",
    "invalidVers",
}
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ATTRIBUTES = [
    "userName",
    "USERNAME",
    "displayName",
    "name.givenName",
    "name.familyName",
    "title",
    "active",
    "externalId",
    "id",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.locality",
    "meta.created",
    "meta.lastModified",
    "meta.version",
    "groups",
    "groups.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "manager",
    "password",
    "nope",
    "name.nope",
    "emails.nope",
    "x509Certificates.value",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co", "regex", "in", "=="]
text = st.text(max_size=20)
values = st.one_of(
    text.map(json.dumps),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(
        [
            "true",
            "false",
            "null",
            "True",
            '"2011-05-13T04:42:34Z"',
            '"\\u0000"',
            '"\\ud800"',
            '"%"',
            '"_"',
        ]
    ),
    text,
)
comparisons = st.one_of(
    st.builds(
        lambda a, o, v: f"{a} {o} {v}",
        st.sampled_from(ATTRIBUTES),
        st.sampled_from(OPERATORS),
        values,
    ),
    st.builds(lambda a: f"{a} pr", st.sampled_from(ATTRIBUTES)),
    st.builds(
        lambda a, s, o, v: f"{a}[{s} {o} {v}]",
        st.sampled_from(["emails", "addresses", "groups", "name", "title"]),
        st.sampled_from(["type", "value", "primary", "locality", "nope"]),
        st.sampled_from(OPERATORS),
        values,
    ),
)
filters = st.one_of(
    st.recursive(
        comparisons,
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"{a} and {b}", inner, inner),
            st.builds(lambda a, b: f"{a} or {b}", inner, inner),
            st.builds(lambda a: f"not ({a})", inner),
            st.builds(lambda a: f"({a})", inner),
        ),
        max_leaves=8,
    ),
    st.text(max_size=60),
)

PATHS = [
    "title",
    "displayName",
    "userName",
    "active",
    "name",
    "name.givenName",
    "emails",
    "emails.value",
    'emails[type eq "work"].value',
    'emails[type eq "work"]',
    'addresses[type eq "work"].locality',
    "phoneNumbers",
    "roles",
    "groups",
    "id",
    "meta",
    "meta.created",
    "schemas",
    "password",
    "externalId",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "nope",
    'emails[nope eq "x"].value',
    "emails[",
]
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-1000, 1000),
        st.text(max_size=12),
        st.sampled_from(["True", "False", "", "\u0000"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["value", "type", "primary", "givenName", "display", "x", "$ref"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
operations = st.fixed_dictionaries(
    {
        "op": st.sampled_from(
            ["add", "replace", "remove", "Add", "Replace", "Remove", "move", "copy", "", 3]
        )
    },
    optional={
        "path": st.one_of(st.sampled_from(PATHS), st.text(max_size=15)),
        "value": json_values,
    },
)
patch_bodies = st.one_of(
    st.builds(
        lambda ops: {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops,
        },
        st.lists(operations, min_size=1, max_size=4),
    ),
    json_values,
)


def assert_well_formed(response):
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        body = response.json()
        assert body["schemas"] == [ERROR]
        assert body["status"] == str(response.status_code)
        assert body.get("scimType") in SCIM_TYPES
        assert isinstance(body["detail"], str)


@pytest.fixture
def subject(scim):
    boss = scim.create_user("boss@example.com")
    user = scim.create_user(
        "subject@example.com",
        title="Original",
        emails=[{"value": "s@work.example", "type": "work", "primary": True}],
        **{
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {"value": boss["id"]}
            }
        },
    )
    group = scim.create_group("Subjects", members=[{"value": user["id"]}])
    return {"user": user["id"], "group": group["id"]}


@PROPERTY_SETTINGS
@given(filter_text=filters)
def test_any_filter_gets_a_list_or_a_scim_error(scim, subject, filter_text):
    for resource in ("Users", "Groups"):
        response = scim.get(f"/{resource}?filter={quote(filter_text, safe='')}")
        assert_well_formed(response)
        if response.status_code == 200:
            assert response.json()["schemas"] == [
                "urn:ietf:params:scim:api:messages:2.0:ListResponse"
            ]


@pytest.mark.parametrize("kind", ["user", "group"])
@PROPERTY_SETTINGS
@given(body=patch_bodies)
def test_any_patch_is_applied_or_refused_without_a_trace(scim, subject, kind, body):
    path = f"/{kind.capitalize()}s/{subject[kind]}"
    before = scim.get(path).json()
    response = scim.patch(path, body)
    assert_well_formed(response)
    if response.status_code >= 400:
        assert scim.get(path).json() == before


@PROPERTY_SETTINGS
@given(body=json_values)
def test_any_post_body_is_created_or_refused(scim, body):
    assert_well_formed(scim.post("/Users", body))
    assert_well_formed(scim.post("/Groups", body))
