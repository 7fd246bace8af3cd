"""meta.version, ETag, If-Match and If-None-Match (RFC 7644 §3.14)."""

import pytest

pytestmark = pytest.mark.django_db


def test_etag_matches_meta_version(scim):
    user = scim.create_user("v@example.com")
    response = scim.get(f"/Users/{user['id']}")
    assert response["ETag"] == response.json()["meta"]["version"] == user["meta"]["version"]
    group = scim.create_group("G")
    assert scim.get(f"/Groups/{group['id']}")["ETag"] == group["meta"]["version"]


def test_if_none_match_gives_304_until_the_resource_changes(scim):
    user = scim.create_user("v@example.com")
    version = user["meta"]["version"]
    assert scim.get(f"/Users/{user['id']}", HTTP_IF_NONE_MATCH=version).status_code == 304
    scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "New"})
    changed = scim.get(f"/Users/{user['id']}", HTTP_IF_NONE_MATCH=version)
    assert changed.status_code == 200 and changed.json()["title"] == "New"


def test_if_match_mismatch_is_412_and_changes_nothing(scim):
    user = scim.create_user("v@example.com")
    stale = user["meta"]["version"]
    scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "A"})
    response = scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "replace", "path": "title", "value": "B"},
        HTTP_IF_MATCH=stale,
    )
    assert response.status_code == 412 and response.json()["scimType"] == "invalidVers"
    assert scim.get(f"/Users/{user['id']}").json()["title"] == "A"
    assert scim.delete(f"/Users/{user['id']}", HTTP_IF_MATCH=stale).status_code == 412
    assert (
        scim.put(
            f"/Users/{user['id']}", {"userName": "v@example.com"}, HTTP_IF_MATCH=stale
        ).status_code
        == 412
    )


def test_if_match_with_the_current_version_or_star_applies(scim):
    group = scim.create_group("G")
    response = scim.patch_ops(
        f"/Groups/{group['id']}",
        {"op": "replace", "path": "displayName", "value": "H"},
        HTTP_IF_MATCH=group["meta"]["version"],
    )
    assert response.status_code == 204
    assert scim.delete(f"/Groups/{group['id']}", HTTP_IF_MATCH="*").status_code == 204


def test_a_patch_that_changes_nothing_keeps_the_version(scim):
    user = scim.create_user("v@example.com", title="Same")
    response = scim.patch_ops(
        f"/Users/{user['id']}", {"op": "Replace", "path": "title", "value": "Same"}
    )
    assert response.status_code == 200
    assert response.json()["meta"]["version"] == user["meta"]["version"]
    group = scim.create_group("G")
    again = scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "Replace", "path": "displayName", "value": "G"}
    )
    assert again["ETag"] == group["meta"]["version"]
