"""List responses: paging, sorting, projections and POST /.search."""

import pytest

pytestmark = pytest.mark.django_db

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def five(scim):
    return [
        scim.create_user(f"user{i}@example.com", title=f"T{4 - i}", active=True)["id"]
        for i in range(5)
    ]


def user_names(response):
    return [r["userName"] for r in response.json()["Resources"]]


def test_pages_are_stable_and_complete(scim, five):
    first = scim.get("/Users?startIndex=1&count=2").json()
    assert (first["totalResults"], first["startIndex"], first["itemsPerPage"]) == (5, 1, 2)
    second = scim.get("/Users?startIndex=3&count=2").json()
    third = scim.get("/Users?startIndex=5&count=2").json()
    ids = [r["id"] for page in (first, second, third) for r in page["Resources"]]
    assert ids == five
    beyond = scim.get("/Users?startIndex=50").json()
    assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["Resources"]) == (5, 0, [])


@pytest.mark.parametrize(
    "query, start, items",
    [
        ("startIndex=0", 1, 5),
        ("startIndex=-5", 1, 5),
        ("count=0", 1, 0),
        ("count=-1", 1, 0),
        ("startIndex=1000000000", 1000000000, 0),
    ],
)
def test_out_of_range_paging_follows_the_rfc(scim, five, query, start, items):
    body = scim.get(f"/Users?{query}").json()
    assert body["schemas"] == [LIST]
    assert (body["startIndex"], body["itemsPerPage"], body["totalResults"]) == (start, items, 5)


@pytest.mark.parametrize(
    "query", ["startIndex=abc", "count=abc", "count=1.5", "sortOrder=sideways"]
)
def test_non_integer_paging_is_invalid_value(scim, query):
    response = scim.get(f"/Users?{query}")
    assert response.status_code == 400 and response.json()["scimType"] == "invalidValue"


def test_count_is_clamped_to_the_advertised_maximum(scim, five, settings):
    settings.SCIM = {**settings.SCIM, "max_results": 3}
    body = scim.get("/Users?count=1000000").json()
    assert body["itemsPerPage"] == 3 and body["totalResults"] == 5
    assert scim.get("/ServiceProviderConfig").json()["filter"]["maxResults"] == 3


def test_sorting(scim, five):
    ascending = user_names(scim.get("/Users?sortBy=title"))
    assert ascending == [f"user{i}@example.com" for i in (4, 3, 2, 1, 0)]
    descending = user_names(scim.get("/Users?sortBy=userName&sortOrder=descending"))
    assert descending == [f"user{i}@example.com" for i in (4, 3, 2, 1, 0)]
    assert (
        user_names(scim.get("/Users?sortBy=urn:ietf:params:scim:schemas:core:2.0:User:userName"))[0]
        == "user0@example.com"
    )
    bad = scim.get("/Users?sortBy=emails")
    assert bad.status_code == 400 and "sortBy" in bad.json()["detail"]


def test_query_parameter_names_ignore_case(scim, five):
    body = scim.get(
        "/Users?FILTER=userName+eq+%22user1@example.com%22&Count=5&ATTRIBUTES=userName"
    ).json()
    assert body["Resources"] == [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": five[1],
            "userName": "user1@example.com",
        }
    ]


def test_unknown_query_parameters_are_ignored(scim, five):
    assert scim.get("/Users?aadOptscim062020&foo=bar").status_code == 200


def test_attributes_and_excluded_attributes(scim):
    user = scim.create_user(
        "p@example.com",
        name={"givenName": "P", "familyName": "Q"},
        emails=[{"value": "p@example.com", "type": "work"}],
        title="T",
    )
    only = scim.get(f"/Users/{user['id']}?attributes=name.givenName,emails").json()
    assert only == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": user["id"],
        "name": {"givenName": "P"},
        "emails": [{"value": "p@example.com", "type": "work"}],
    }
    without = scim.get(f"/Users/{user['id']}?excludedAttributes=emails,name.familyName,meta").json()
    assert "emails" not in without and "meta" not in without
    assert without["name"] == {"givenName": "P"} and without["title"] == "T"
    # id and schemas are always returned; unknown names are ignored.
    minimal = scim.get(f"/Users/{user['id']}?attributes=favouriteColour").json()
    assert set(minimal) == {"schemas", "id"}
    assert set(scim.get(f"/Users/{user['id']}?excludedAttributes=id").json()) >= {"id", "userName"}


@pytest.mark.parametrize("path", ["/Users/.search", "/.search"])
def test_search_with_a_body(scim, five, path):
    response = scim.post(
        path,
        {
            "schemas": [SEARCH],
            "filter": 'title sw "T" and userName ne "user0@example.com"',
            "attributes": ["userName"],
            "sortBy": "userName",
            "startIndex": 2,
            "count": 2,
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totalResults"] == 4 and body["startIndex"] == 2
    assert [r["userName"] for r in body["Resources"]] == ["user2@example.com", "user3@example.com"]
    assert all(set(r) == {"schemas", "id", "userName"} for r in body["Resources"])


def test_root_search_spans_users_then_groups(scim, five):
    scim.create_group("Group A")
    scim.create_group("Group B")
    body = scim.post("/.search", {"schemas": [SEARCH], "startIndex": 5, "count": 3}).json()
    assert body["totalResults"] == 7
    kinds = [r["meta"]["resourceType"] for r in body["Resources"]]
    assert kinds == ["User", "Group", "Group"]
    # A filter only one type understands searches that type.
    groups_only = scim.post(
        "/.search", {"schemas": [SEARCH], "filter": 'displayName eq "group a"'}
    ).json()
    assert groups_only["totalResults"] == 1
    assert (
        scim.post("/.search", {"schemas": [SEARCH], "filter": 'nope eq "x"'}).json()["scimType"]
        == "invalidFilter"
    )


def test_group_search(scim):
    scim.create_group("Alpha")
    scim.create_group("Beta")
    body = scim.post(
        "/Groups/.search", {"schemas": [SEARCH], "filter": 'displayName sw "b"'}
    ).json()
    assert [g["displayName"] for g in body["Resources"]] == ["Beta"]


def test_search_request_must_be_an_object(scim):
    response = scim.post("/Users/.search", ["filter"])
    assert response.status_code == 400 and response.json()["scimType"] == "invalidSyntax"


def test_created_resources_carry_location_and_etag_whatever_the_projection(scim):
    user = scim.post("/Users?attributes=userName", {"userName": "proj@example.com"})
    assert user.status_code == 201 and set(user.json()) == {"schemas", "id", "userName"}
    assert user["Location"].endswith(f"/Users/{user.json()['id']}") and user["ETag"]
    group = scim.post("/Groups?excludedAttributes=meta", {"displayName": "Proj"})
    assert group.status_code == 201 and "meta" not in group.json()
    assert group["Location"].endswith(f"/Groups/{group.json()['id']}") and group["ETag"]
    got = scim.get(f"/Users/{user.json()['id']}?attributes=userName")
    assert got["ETag"] == scim.get(f"/Users/{user.json()['id']}").json()["meta"]["version"]
