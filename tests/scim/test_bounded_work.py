"""No request costs more than its size allows: linear PATCH merges, capped multi-valued
attributes, bounded group lists, and password hashing kept off the hot path and budgeted.

Asserted as properties (work counted, sizes bounded), never as wall-clock timings.
"""

import json

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from kestra_iam.models import UserValue
from scim import users as user_resource
from scim import values as values_module
from scim.conf import SCIMSettings
from scim.expressions import parse_path
from scim.operations import Operation
from scim.patch import PatchApplier
from scim.schema import USER_RESOURCE

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def emails(count: int, start: int = 0) -> list[dict]:
    return [{"value": f"e{i}@example.com", "type": "work"} for i in range(start, start + count)]


# --- multi-valued attributes ---------------------------------------------------------------------


def test_adding_values_does_work_linear_in_the_values(monkeypatch, settings):
    settings.SCIM = {**settings.SCIM, "max_values": 100_000}
    calls = []
    identity = values_module.identity

    def counted(item):
        calls.append(1)
        return identity(item)

    monkeypatch.setattr(values_module, "identity", counted)
    applier = PatchApplier(
        USER_RESOURCE,
        user_resource.CLEANER,
        resource_id="x",
        limits=SCIMSettings().filter_limits,
        max_members=10_000,
    )
    for size in (500, 2000):
        calls.clear()
        document = {"userName": "a", "emails": emails(size)}
        operation = Operation(
            "add",
            parse_path("emails", SCIMSettings().filter_limits),
            emails(size, start=size // 2),
            True,
        )
        result = applier.apply(document, [operation])
        assert len(result.document["emails"]) == size + size // 2  # duplicates merged once
        assert len(calls) == 2 * size  # each value looked at once: no value compared to all


def test_removing_values_by_value_does_work_linear_in_the_values(monkeypatch, settings):
    settings.SCIM = {**settings.SCIM, "max_values": 100_000}
    calls = []
    identity = values_module.identity
    monkeypatch.setattr(values_module, "identity", lambda item: calls.append(1) or identity(item))
    applier = PatchApplier(
        USER_RESOURCE,
        user_resource.CLEANER,
        resource_id="x",
        limits=SCIMSettings().filter_limits,
        max_members=10_000,
    )
    document = {"userName": "a", "emails": emails(3000)}
    operation = Operation(
        "remove", parse_path("emails", SCIMSettings().filter_limits), emails(1000), True
    )
    result = applier.apply(document, [operation])
    assert len(result.document["emails"]) == 2000
    assert len(calls) == 1000 + 3000


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_more_values_than_the_limit_are_too_many(scim, method, settings):
    settings.SCIM = {**settings.SCIM, "max_values": 5}
    user = scim.create_user("cap@example.com", emails=emails(5))
    if method == "post":
        response = scim.post("/Users", {"userName": "over@example.com", "emails": emails(6)})
    elif method == "put":
        response = scim.put(
            f"/Users/{user['id']}", {"userName": "cap@example.com", "emails": emails(6)}
        )
    else:  # five values already: one more is too many
        response = scim.patch_ops(
            f"/Users/{user['id']}", {"op": "add", "path": "emails", "value": emails(1, start=9)}
        )
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "tooMany"
    assert "at most 5" in response.json()["detail"]
    assert UserValue.objects.filter(attribute="emails").count() == 5


def test_a_huge_value_list_is_refused_before_any_value_is_cleaned(scim, monkeypatch):
    user = scim.create_user("huge@example.com")
    cleaned = []
    original = user_resource.CLEANER.clean_single
    monkeypatch.setattr(
        type(user_resource.CLEANER),
        "clean_single",
        lambda self, *a, **k: cleaned.append(1) or original(*a, **k),
    )
    # 54,000 short values, written compactly: under the 1 MiB body limit, far over 100 values.
    values = [{"value": str(i)} for i in range(54_000)]
    body = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "emails", "value": values}],
        },
        separators=(",", ":"),
    )
    response = scim.patch(f"/Users/{user['id']}", body)
    assert response.status_code == 400 and response.json()["scimType"] == "tooMany"
    assert cleaned == []
    assert not UserValue.objects.filter(access__user_id=user["id"]).exists()


# --- group lists ---------------------------------------------------------------------------------


@pytest.fixture
def big_groups(scim):
    people = [scim.create_user(f"m{i}@example.com")["id"] for i in range(6)]
    return [
        scim.create_group(f"G{i}", members=[{"value": p} for p in people])["id"] for i in range(4)
    ]


def read_list(response) -> dict:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return json.loads(raw)


def test_a_page_of_groups_with_members_stays_within_the_member_budget(scim, big_groups, settings):
    settings.SCIM = {**settings.SCIM, "list_max_members": 14}
    seen, start = [], 1
    while True:
        page = read_list(scim.get(f"/Groups?startIndex={start}&count=100"))
        assert page["totalResults"] == 4
        members = sum(len(g.get("members", [])) for g in page["Resources"])
        # Two groups of 6 members fit in 14, three do not.
        assert page["itemsPerPage"] == len(page["Resources"]) == 2
        assert members <= 14
        seen += [g["id"] for g in page["Resources"]]
        start += page["itemsPerPage"]
        if start > page["totalResults"]:
            break
    assert sorted(seen) == sorted(big_groups)  # paging on by itemsPerPage loses nothing
    # Without members, the page is the page the client asked for.
    assert scim.get("/Groups?excludedAttributes=members").json()["itemsPerPage"] == 4


def test_a_group_larger_than_the_budget_comes_alone_and_streamed(scim, big_groups, settings):
    settings.SCIM = {**settings.SCIM, "list_max_members": 4, "stream_members_above": 4}
    response = scim.get("/Groups?count=3")
    assert response.streaming and response["Content-Type"] == "application/scim+json"
    page = read_list(response)
    assert page["itemsPerPage"] == 1 and len(page["Resources"][0]["members"]) == 6
    assert page["Resources"][0] == read_list(scim.get(f"/Groups/{page['Resources'][0]['id']}"))
    searched = read_list(scim.post("/.search", {"filter": 'displayName sw "G"', "count": 10}))
    assert searched["itemsPerPage"] == 1 and searched["totalResults"] == 4


# --- passwords -----------------------------------------------------------------------------------


@pytest.fixture
def real_hasher(settings, monkeypatch):
    """The production hasher (PBKDF2), with every hash counted and where it happened."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    monkeypatch.setattr(PBKDF2PasswordHasher, "iterations", 1000)  # the count matters, not time
    hashed = []
    encode = PBKDF2PasswordHasher.encode

    def counted(self, password, salt, iterations=None):
        hashed.append(len(connection.atomic_blocks))
        return encode(self, password, salt, iterations)

    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", counted)
    return hashed


def test_entras_traffic_never_hashes_a_password(scim, real_hasher):
    user = scim.create_user("entra@example.com", externalId="e", active=True)
    scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "Replace", "path": "displayName", "value": "Entra"},
        {"op": "Replace", "path": "active", "value": "False"},
    )
    scim.get('/Users?filter=userName eq "entra@example.com"')
    scim.delete(f"/Users/{user['id']}")
    assert real_hasher == []


def test_passwords_are_hashed_before_any_lock_and_within_a_budget(scim, real_hasher, settings):
    settings.SCIM = {**settings.SCIM, "password_rate_limit": (2, 60)}
    outside = len(connection.atomic_blocks)  # the test's own transaction
    user = scim.create_user("pw@example.com", password="First-Password-1")
    scim.patch_ops(
        f"/Users/{user['id']}", {"op": "replace", "path": "password", "value": "Second-Pw-2"}
    )
    assert real_hasher == [outside, outside]  # hashed outside the write's transaction
    third = scim.put(
        f"/Users/{user['id']}", {"userName": "pw@example.com", "password": "Third-Password-3"}
    )
    assert third.status_code == 429 and int(third["Retry-After"]) >= 1
    assert "password" in third.json()["detail"] and len(real_hasher) == 2
    # Requests without a password are not counted against that budget.
    assert (
        scim.patch_ops(
            f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "ok"}
        ).status_code
        == 200
    )
