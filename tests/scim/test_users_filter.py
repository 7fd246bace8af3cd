"""Filtering users and groups: the RFC grammar compiled to SQL through the tenant's queryset."""

from urllib.parse import quote

import pytest

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def people(scim, other_scim):
    scim.create_user(
        "alice@example.com",
        externalId="EXT-Alice",
        displayName="Alice Liddell",
        title="Engineer",
        active=True,
        name={"givenName": "Alice", "familyName": "Liddell"},
        emails=[
            {"value": "Alice@Work.example", "type": "work", "primary": True},
            {"value": "alice@home.example", "type": "home"},
        ],
        **{ENTERPRISE: {"department": "R&D", "employeeNumber": "100"}},
    )
    scim.create_user(
        "bob@example.com",
        externalId="ext-bob",
        displayName="Bob Stone",
        title="Manager",
        active=False,
        name={"givenName": "Bob", "familyName": "Stone"},
        emails=[{"value": "bob@work.example", "type": "work"}],
        **{ENTERPRISE: {"department": "Sales"}},
    )
    scim.create_user("carol_100%@example.com", title="Engineer", active=True)
    other_scim.create_user("alice.other@example.com", title="Engineer")


def names(scim, filter_text, path="/Users"):
    response = scim.get(f"{path}?filter={quote(filter_text)}")
    assert response.status_code == 200, response.content
    body = response.json()
    key = "userName" if path == "/Users" else "displayName"
    return sorted(r[key] for r in body["Resources"])


@pytest.mark.parametrize(
    "filter_text, expected",
    [
        ('userName eq "alice@example.com"', ["alice@example.com"]),
        ('userName eq "ALICE@EXAMPLE.COM"', ["alice@example.com"]),  # caseExact false
        ('USERNAME eq "alice@example.com"', ["alice@example.com"]),  # attribute names too
        ('userName ne "alice@example.com"', ["bob@example.com", "carol_100%@example.com"]),
        ('userName sw "A"', ["alice@example.com"]),
        (
            'userName ew "@EXAMPLE.com"',
            ["alice@example.com", "bob@example.com", "carol_100%@example.com"],
        ),
        ('userName co "100%"', ["carol_100%@example.com"]),
        ('userName co "_"', ["carol_100%@example.com"]),  # LIKE wildcards match literally
        ('userName co "%"', ["carol_100%@example.com"]),
        ('userName gt "b"', ["bob@example.com", "carol_100%@example.com"]),
        ('userName le "bob@example.com"', ["alice@example.com", "bob@example.com"]),
        ('externalId eq "EXT-Alice"', ["alice@example.com"]),
        ('externalId eq "ext-alice"', []),  # externalId is caseExact
        ('displayName co "liddell"', ["alice@example.com"]),
        ('name.familyName eq "stone"', ["bob@example.com"]),
        ('title eq "Engineer" and active eq true', ["alice@example.com", "carol_100%@example.com"]),
        ("active eq false", ["bob@example.com"]),
        ('active eq "False"', ["bob@example.com"]),
        (
            'title eq "Manager" or title eq "Engineer" and userName sw "c"',
            ["bob@example.com", "carol_100%@example.com"],
        ),
        (
            '(title eq "Manager" or title eq "Engineer") and userName sw "c"',
            ["carol_100%@example.com"],
        ),
        ('not (title eq "Engineer")', ["bob@example.com"]),
        ("externalId pr", ["alice@example.com", "bob@example.com"]),
        ("not (externalId pr)", ["carol_100%@example.com"]),
        ("emails pr", ["alice@example.com", "bob@example.com"]),
        ('emails eq "bob@work.example"', ["bob@example.com"]),
        ('emails.value eq "ALICE@home.example"', ["alice@example.com"]),
        ('emails[type eq "work"].value eq "alice@work.example"', ["alice@example.com"]),
        ('emails[type eq "home"].value eq "Alice@Work.example"', []),  # one email must match both
        ('emails[type eq "work" and primary eq true]', ["alice@example.com"]),
        ('emails.type eq "home"', ["alice@example.com"]),
        (f'{ENTERPRISE}:department eq "r&d"', ["alice@example.com"]),
        ('department eq "Sales"', ["bob@example.com"]),
        (f"{ENTERPRISE}:employeeNumber pr", ["alice@example.com"]),
        (
            'meta.created gt "2000-01-01T00:00:00Z"',
            ["alice@example.com", "bob@example.com", "carol_100%@example.com"],
        ),
        ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
        ('userName eq "7d420df3-9995-4831-a406-ecf8166f5f6a"', []),  # Entra's Test Connection
        ('id eq "not-a-uuid"', []),
    ],
)
def test_user_filters(scim, people, filter_text, expected):
    assert names(scim, filter_text) == expected


def test_entra_test_connection_shape(scim, people):
    response = scim.client.get(
        scim.url("/Users?filter=userName+eq+%227d420df3-9995-4831-a406-ecf8166f5f6a%22")
    )
    assert response.status_code == 200
    assert response.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_filter_by_id_and_manager(scim, people):
    boss = scim.create_user("boss@example.com")
    report = scim.create_user(
        "report@example.com", **{ENTERPRISE: {"manager": {"value": boss["id"]}}}
    )
    assert names(scim, f'id eq "{report["id"]}"') == ["report@example.com"]
    query = quote(f'id eq "{report["id"]}" and manager eq "{boss["id"]}"')
    response = scim.get(f"/Users?filter={query}&attributes=id")
    assert response.json()["Resources"] == [
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": report["id"]}
    ]
    assert names(scim, f'manager.value eq "{boss["id"]}"') == ["report@example.com"]
    assert names(scim, f'{ENTERPRISE}:manager.value eq "{boss["id"]}"') == ["report@example.com"]


def test_other_tenants_users_are_never_matched(scim, other_scim, people):
    assert names(scim, 'userName sw "alice"') == ["alice@example.com"]
    assert names(other_scim, 'title eq "Engineer"') == ["alice.other@example.com"]


@pytest.mark.parametrize(
    "filter_text, message",
    [
        ('favouriteColour eq "blue"', "Unknown attribute 'favouriteColour'"),
        ('userName eq "a" or favouriteColour eq "blue"', "Unknown attribute"),  # never dropped
        ('name.nickname eq "x"', "Unknown attribute"),
        ('emails[colour eq "red"]', "Unknown sub-attribute"),
        ('userName regex "a"', "Unknown operator 'regex'"),
        ("active gt true", "only eq, ne and pr"),
        ('meta.lastModified gt "not-a-date"', "ISO 8601"),
        ('meta.lastModified gt "2011-05-13T04:42:34"', "time zone"),
        ("userName eq 12", "compares with a string"),
        ('password eq "x"', "not supported"),
        ('meta.version eq "x"', "not supported"),
        ('userName eq "a', "Invalid filter"),
        ('userName eq "a" and', "Invalid filter"),
        ("", "Invalid filter"),
    ],
)
def test_bad_filters_are_invalid_filter(scim, people, filter_text, message):
    response = scim.get(f"/Users?filter={quote(filter_text)}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["scimType"] == "invalidFilter" and message in body["detail"], body


def test_filter_bounds(scim, settings):
    settings.SCIM = {**settings.SCIM, "max_filter_comparisons": 5, "max_filter_length": 200}
    too_wide = " or ".join([f'title eq "{i}"' for i in range(6)])
    assert scim.get(f"/Users?filter={quote(too_wide)}").json()["scimType"] == "invalidFilter"
    too_long = f'title eq "{"x" * 200}"'
    assert scim.get(f"/Users?filter={quote(too_long)}").json()["scimType"] == "invalidFilter"


@pytest.fixture
def teams(scim, other_scim):
    alice = scim.create_user("alice@example.com")
    scim.create_group("Engineering", externalId="g-eng", members=[{"value": alice["id"]}])
    scim.create_group("Sales")
    other_scim.create_group("Engineering")
    return alice


@pytest.mark.parametrize(
    "filter_text, expected",
    [
        ('displayName eq "engineering"', ["Engineering"]),
        ('displayName eq "ENGINEERING"', ["Engineering"]),
        ('displayName sw "S"', ["Sales"]),
        ('externalId eq "g-eng"', ["Engineering"]),
        ('externalId eq "G-ENG"', []),
        ("members pr", ["Engineering"]),
        ('displayName eq "00000000-random-group"', []),
    ],
)
def test_group_filters(scim, teams, filter_text, expected):
    assert names(scim, filter_text, "/Groups") == expected


def test_group_membership_reference_check(scim, teams):
    group = scim.get('/Groups?filter=displayName+eq+"Engineering"').json()["Resources"][0]
    query = quote(f'id eq "{group["id"]}" and members eq "{teams["id"]}"')
    assert scim.get(f"/Groups?filter={query}&attributes=id").json()["Resources"] == [
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": group["id"]}
    ]
    assert names(scim, f'members.value eq "{teams["id"]}"', "/Groups") == ["Engineering"]
    assert names(scim, 'members[value eq "00000000-0000-0000-0000-000000000000"]', "/Groups") == []


def test_user_name_eq_and_ne_of_an_unknown_name(scim, people):
    everyone = names(scim, "userName pr")
    assert names(scim, 'userName eq "nobody@example.com"') == []
    assert names(scim, 'userName ne "nobody@example.com"') == everyone
    assert names(scim, 'not (userName eq "nobody@example.com")') == everyone
