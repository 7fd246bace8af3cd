"""Tenant isolation: another integration's token or another tenant's ids never reach data."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def theirs(other_scim):
    """Another tenant's user and group, made through its own integration."""
    user = other_scim.create_user("theirs@example.com", title="Secret")
    group = other_scim.create_group("Their group", members=[{"value": user["id"]}])
    return {"user": user["id"], "group": group["id"]}


ENDPOINTS = [
    ("get", "/Users/{user}"),
    ("put", "/Users/{user}"),
    ("patch", "/Users/{user}"),
    ("delete", "/Users/{user}"),
    ("get", "/Groups/{group}"),
    ("put", "/Groups/{group}"),
    ("patch", "/Groups/{group}"),
    ("delete", "/Groups/{group}"),
]
BODIES = {
    "put": {"userName": "x@example.com", "displayName": "x"},
    "patch": {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "pwned"}],
    },
}


def call(scim, method, path):
    function = getattr(scim, method)
    return function(path, BODIES[method]) if method in BODIES else function(path)


@pytest.mark.parametrize("method, template", ENDPOINTS)
def test_foreign_ids_look_exactly_like_unknown_ids(scim, theirs, method, template):
    foreign = call(scim, method, template.format(**theirs))
    unknown = call(scim, method, template.format(user=UNKNOWN, group=UNKNOWN))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


@pytest.mark.parametrize(
    "method, template", [*ENDPOINTS, ("get", "/Users"), ("get", "/Groups"), ("get", "/Schemas")]
)
def test_another_integrations_token_on_our_endpoint_is_401(
    scim, other_scim, theirs, method, template
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_scim.token}")
    path = scim.url(template.format(**theirs))
    function = getattr(client, method)
    response = function(path, BODIES[method], format="json") if method in BODIES else function(path)
    assert response.status_code == 401


def test_foreign_objects_are_left_untouched(scim, other_scim, theirs):
    for method, template in ENDPOINTS:
        call(scim, method, template.format(**theirs))
    user = other_scim.get(f"/Users/{theirs['user']}").json()
    group = other_scim.get(f"/Groups/{theirs['group']}").json()
    assert user["title"] == "Secret" and group["displayName"] == "Their group"
    assert [m["value"] for m in group["members"]] == [theirs["user"]]


def test_lists_and_filters_never_show_another_tenant(scim, theirs):
    assert scim.get("/Users").json()["totalResults"] == 0
    assert scim.get("/Groups").json()["totalResults"] == 0
    assert scim.get('/Users?filter=userName eq "theirs@example.com"').json()["totalResults"] == 0
    assert scim.get(f'/Groups?filter=members eq "{theirs["user"]}"').json()["totalResults"] == 0
    assert scim.post("/.search", {}).json()["totalResults"] == 0


def test_members_cannot_come_from_another_tenant(scim, theirs):
    group = scim.create_group("Ours")["id"]
    response = scim.patch_ops(
        f"/Groups/{group}", {"op": "add", "path": "members", "value": [{"value": theirs["user"]}]}
    )
    assert response.status_code == 400
    assert (
        scim.post(
            "/Groups", {"displayName": "X", "members": [{"value": theirs["user"]}]}
        ).status_code
        == 400
    )


def test_views_never_query_models_directly():
    """Tenant scoping lives in selectors and services; a view that queried a model could skip it."""
    from pathlib import Path

    views = sorted((Path(__file__).resolve().parents[2] / "scim" / "views").glob("*.py"))
    assert len(views) >= 5
    for module in views:
        source = module.read_text()
        assert ".objects." not in source, module.name


# --- the full matrix: endpoint x method x {own, other integration's token, other ids, unknown} ----

ID_ENDPOINTS = [
    ("get", "/Users/{id}", "user"),
    ("put", "/Users/{id}", "user"),
    ("patch", "/Users/{id}", "user"),
    ("delete", "/Users/{id}", "user"),
    ("get", "/Groups/{id}", "group"),
    ("put", "/Groups/{id}", "group"),
    ("patch", "/Groups/{id}", "group"),
    ("delete", "/Groups/{id}", "group"),
]
COLLECTION_ENDPOINTS = [
    ("get", "/Users"),
    ("post", "/Users"),
    ("post", "/Users/.search"),
    ("get", "/Groups"),
    ("post", "/Groups"),
    ("post", "/Groups/.search"),
    ("post", "/.search"),
    ("get", "/ServiceProviderConfig"),
    ("get", "/ResourceTypes"),
    ("get", "/ResourceTypes/User"),
    ("get", "/Schemas"),
    ("get", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
]
MATRIX_BODIES = {
    ("put", "user"): {"userName": "ours@example.com"},
    ("put", "group"): {"displayName": "Ours"},
    ("patch", "user"): {"Operations": [{"op": "replace", "path": "title", "value": "x"}]},
    ("patch", "group"): {
        "Operations": [{"op": "replace", "path": "displayName", "value": "Ours 2"}]
    },
    ("post", "/Users"): {"userName": "new@example.com"},
    ("post", "/Groups"): {"displayName": "New"},
}


@pytest.fixture
def ours(scim):
    user = scim.create_user("ours@example.com")
    group = scim.create_group("Ours", members=[{"value": user["id"]}])
    return {"user": user["id"], "group": group["id"]}


def send(client_call, method, path, body):
    if body is None and method in ("post", "put", "patch"):
        body = {}
    return client_call(path, body) if method in ("post", "put", "patch") else client_call(path)


@pytest.mark.parametrize("condition", ["own", "other-token", "other-ids", "unknown"])
@pytest.mark.parametrize("method, template, kind", ID_ENDPOINTS)
def test_matrix_for_resources(scim, other_scim, ours, theirs, condition, method, template, kind):
    body = MATRIX_BODIES.get((method, kind))
    if condition == "other-token":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_scim.token}")
        path = scim.url(template.format(id=ours[kind]))
        call = getattr(client, method)
        response = call(path, body, format="json") if body is not None else call(path)
        assert response.status_code == 401
        return
    target = {"own": ours[kind], "other-ids": theirs[kind], "unknown": UNKNOWN}[condition]
    response = send(getattr(scim, method), method, template.format(id=target), body)
    if condition == "own":
        assert response.status_code in (200, 204), response.content
    else:
        assert response.status_code == 404
        assert response.json() == {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "404",
            "detail": "Resource not found.",
        }


@pytest.mark.parametrize("condition", ["own", "other-token"])
@pytest.mark.parametrize("method, path", COLLECTION_ENDPOINTS)
def test_matrix_for_collections_and_discovery(scim, other_scim, theirs, condition, method, path):
    body = MATRIX_BODIES.get((method, path), {} if method == "post" else None)
    if condition == "other-token":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_scim.token}")
        call = getattr(client, method)
        response = (
            call(scim.url(path), body, format="json") if body is not None else call(scim.url(path))
        )
        assert response.status_code == 401
        return
    response = send(getattr(scim, method), method, path, body)
    assert response.status_code in (200, 201), response.content
    assert theirs["user"] not in response.content.decode()
    assert theirs["group"] not in response.content.decode()
