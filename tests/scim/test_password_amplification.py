"""A request costs at most one password hash, and only for a write that stores it.

Hashing is slow on purpose, so it is what a client would multiply to take every worker: a body
naming many passwords, a PATCH of a user that does not exist or cannot be written, an invalid
body. The property is a count of hashes per request (not wall time), over the SCIM API; the
same attack against real gunicorn workers is in `tests/scim/reliability/test_password_flood.py`.
"""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kestra_iam.models import TenantAccess, User

pytestmark = pytest.mark.django_db

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
PASSWORD_KEYS = st.sampled_from(["password", "Password", "PASSWORD"])
SECRETS = st.text(alphabet="abcXYZ123!", min_size=1, max_size=12)


@pytest.fixture
def hashes(settings, monkeypatch):
    """Every PBKDF2 hash made, by password (the production hasher with few iterations: the
    count matters here, not the time)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    monkeypatch.setattr(PBKDF2PasswordHasher, "iterations", 1000)
    made = []
    encode = PBKDF2PasswordHasher.encode

    def counted(self, password, salt, iterations=None):
        made.append(password)
        return encode(self, password, salt, iterations)

    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", counted)
    return made


def nested_passwords(count: int) -> dict:
    """The reported attack: many `password` keys at some depth of one operation's value."""
    return {"op": "replace", "value": {"x": [{"password": f"Secret-{i}"} for i in range(count)]}}


def stored_password(user_id, tenant_id: str = "main") -> str:
    """The password a tenant's identity provider set, as that tenant's profile keeps it."""
    return TenantAccess.objects.get(user_id=user_id, tenant_id=tenant_id).scim_password


def test_the_reported_body_hashes_nothing(scim, hashes):
    user = scim.create_user("ada@example.com")
    response = scim.patch_ops(f"/Users/{user['id']}", nested_passwords(150))
    assert response.status_code == 400 and hashes == []


@pytest.mark.parametrize("target", [UNKNOWN_ID, "not-a-uuid"], ids=["unknown", "malformed"])
def test_a_user_that_is_not_there_costs_no_hash(scim, hashes, target):
    response = scim.patch_ops(
        f"/Users/{target}", {"op": "replace", "path": "password", "value": "Never-Hashed-1"}
    )
    assert response.status_code == 404 and hashes == []


def test_another_tenants_user_costs_no_hash(scim, other_scim, hashes):
    theirs = other_scim.create_user("theirs@example.com")
    response = scim.patch_ops(
        f"/Users/{theirs['id']}", {"op": "replace", "path": "password", "value": "Never-Hashed-1"}
    )
    assert response.status_code == 404 and hashes == []


def test_a_stale_version_costs_no_hash(scim, hashes):
    user = scim.create_user("ada@example.com")
    response = scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "replace", "path": "password", "value": "Never-Hashed-1"},
        HTTP_IF_MATCH='W/"999"',
    )
    assert response.status_code == 412 and hashes == []


def test_an_invalid_operation_after_a_password_costs_no_hash(scim, hashes):
    user = scim.create_user("ada@example.com")
    response = scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "replace", "path": "password", "value": "Never-Hashed-1"},
        {"op": "replace", "path": "nickName", "value": ["not", "a", "string"]},
    )
    assert response.status_code == 400 and hashes == []


def test_a_linked_user_costs_one_hash_per_write_and_sets_only_this_tenants_password(
    scim, other_scim, hashes
):
    other_scim.create_user("shared@example.com", password="Owners-Password-1")
    linked = scim.create_user("shared@example.com", password="Linkers-Password-2")
    scim.patch_ops(
        f"/Users/{linked['id']}", {"op": "replace", "path": "password", "value": "Linkers-3"}
    )
    scim.put(f"/Users/{linked['id']}", {"userName": "shared@example.com", "password": "L-4"})
    assert hashes == ["Owners-Password-1", "Linkers-Password-2", "Linkers-3", "L-4"]
    assert check_password("L-4", stored_password(linked["id"]))
    assert check_password("Owners-Password-1", stored_password(linked["id"], "other"))
    assert not User.objects.get(pk=linked["id"]).has_usable_password()


def test_a_user_name_already_in_the_tenant_costs_no_hash(scim, hashes):
    scim.create_user("ada@example.com")
    response = scim.post("/Users", {"userName": "ADA@example.com", "password": "Pw-123456"})
    assert response.status_code == 409 and hashes == []


def test_a_rename_this_tenant_may_not_make_costs_no_hash(scim, other_scim, hashes):
    other_scim.create_user("shared@example.com")
    linked = scim.create_user("shared@example.com")
    response = scim.patch_ops(
        f"/Users/{linked['id']}",
        {"op": "replace", "path": "password", "value": "Never-Hashed-1"},
        {"op": "replace", "path": "userName", "value": "renamed@example.com"},
    )
    assert response.status_code == 400 and hashes == []


def test_several_passwords_in_one_patch_hash_only_the_last(scim, hashes):
    user = scim.create_user("ada@example.com")
    response = scim.patch_ops(
        f"/Users/{user['id']}",
        *({"op": "replace", "path": "password", "value": f"Secret-{i}"} for i in range(50)),
    )
    assert response.status_code == 200 and hashes == ["Secret-49"]
    assert check_password("Secret-49", stored_password(user["id"]))


def test_the_budget_counts_hashes_not_requests(scim, hashes, settings):
    settings.SCIM = {**settings.SCIM, "password_rate_limit": (1, 60)}
    user = scim.create_user("ada@example.com")
    for _ in range(5):  # refused before any hash: they use none of the budget
        assert scim.patch_ops(f"/Users/{user['id']}", nested_passwords(20)).status_code == 400
    first, second = (
        scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "password", "value": pw})
        for pw in ("A-1", "B-2")
    )
    assert (first.status_code, second.status_code) == (200, 429)
    assert hashes == ["A-1"]


# --- the property ---------------------------------------------------------------------------------


def password_value(depth: int):
    """A value carrying `password` keys, nested up to `depth` levels."""
    leaf = st.dictionaries(PASSWORD_KEYS, SECRETS, min_size=1, max_size=3)
    return st.recursive(
        leaf,
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=4),
            st.dictionaries(st.sampled_from(["x", "name", "password", "emails"]), children),
        ),
        max_leaves=depth,
    )


OPERATION = st.one_of(
    st.builds(
        lambda op, value: {"op": op, "path": "password", "value": value},
        st.sampled_from(["replace", "add", "Replace", "remove"]),
        st.one_of(SECRETS, st.integers(), st.lists(SECRETS, max_size=2)),
    ),
    st.builds(lambda value: {"op": "replace", "value": value}, password_value(12)),
    st.builds(
        lambda value: {"op": "add", "path": "title", "value": value}, st.one_of(SECRETS, st.none())
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(OPERATION, min_size=1, max_size=8),
    target=st.sampled_from(["own", "linked", "unknown"]),
)
def test_no_request_costs_more_than_one_hash_or_any_for_a_write_it_does_not_make(
    scim, other_scim, hashes, operations, target
):
    own = scim.create_user("own@example.com")
    shared = other_scim.create_user("linked@example.com")
    linked = scim.create_user("linked@example.com")
    assert linked["id"] == shared["id"]
    user_id = {"own": own["id"], "linked": linked["id"], "unknown": UNKNOWN_ID}[target]
    before = stored_password(own["id"]), stored_password(linked["id"])
    shared_password = stored_password(shared["id"], "other")
    hashes.clear()

    response = scim.patch_ops(f"/Users/{user_id}", *operations)

    assert len(hashes) <= 1, hashes
    after = stored_password(own["id"]), stored_password(linked["id"])
    if hashes:
        # A hash is made only for a write that succeeded and stored exactly that password.
        assert response.status_code == 200 and target != "unknown"
        assert check_password(hashes[0], after[0 if target == "own" else 1])
    else:
        # Unhashed, a password can only have been removed.
        assert all(now == "" for now, then in zip(after, before, strict=True) if now != then)
    # Whatever main writes, the other tenant's profile keeps its own password.
    assert stored_password(shared["id"], "other") == shared_password
    User.objects.filter(user_name_key__in=["own@example.com", "linked@example.com"]).delete()
