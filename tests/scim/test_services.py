"""The SCIM write services, called directly (the HTTP tests cover the same through the views).

Each service takes the tenant and an AuditEntry, writes inside one transaction, records the
event in it, and raises SCIM errors the views only translate.
"""

import pytest
from django.contrib.auth.hashers import check_password

from kestra_iam.audit import AuditEntry
from kestra_iam.models import AuditEvent, Binding, Group, GroupMembership, TenantAccess, User
from scim.conf import SCIMSettings
from scim.exceptions import InvalidValue, Mutability, NotFound, PreconditionFailed, Uniqueness
from scim.operations import parse_operations
from scim.services import (
    PasswordHasher,
    scim_group_create,
    scim_group_delete,
    scim_group_patch,
    scim_group_replace,
    scim_user_create,
    scim_user_delete,
    scim_user_patch,
    scim_user_replace,
)
from tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def entry(action="scim.users.create", outcome=201) -> AuditEntry:
    return AuditEntry(action=action, actor_type="service_account", actor="robot", outcome=outcome)


def operations(*ops):
    return parse_operations(
        {"Operations": list(ops)}, max_operations=10, limits=SCIMSettings().filter_limits
    )


def create(tenant, user_name, **document):
    """The new access (the read the response is rendered from holds it)."""
    return create_read(tenant, user_name, **document).access


def create_read(tenant, user_name, **document):
    return scim_user_create(
        tenant=tenant,
        integration=None,
        document={"userName": user_name, **document},
        audit=entry(),
    )


def test_create_writes_the_user_its_access_and_one_event(tenant):
    read = create_read(tenant, "new@example.com", externalId="ext", emails=[{"value": "a@b.c"}])
    access = read.access
    assert access.tenant_id == "main" and access.external_id == "ext"
    assert read.values == [("emails", "a@b.c", "", None, "", {})] and read.groups == []
    user = User.objects.get(pk=access.user_id)
    assert user.primary_tenant_id == "main" and not user.has_usable_password()
    (event,) = AuditEvent.objects.all()
    assert (event.action, event.outcome, event.resource_id) == (
        "scim.users.create",
        201,
        str(user.pk),
    )


def test_create_stores_the_hash_its_hasher_made(tenant):
    passwords = PasswordHasher()
    access = scim_user_create(
        tenant=tenant,
        integration=None,
        document={"userName": "pw@example.com", "password": "Pre-Hashed-1"},
        passwords=passwords,
        audit=entry(),
    ).access
    stored = TenantAccess.objects.get(pk=access.pk).scim_password
    assert passwords.hashes_made == 1 and stored == passwords.hash("Pre-Hashed-1")
    assert check_password("Pre-Hashed-1", stored)


def test_create_in_the_same_tenant_is_a_conflict_and_records_nothing(tenant):
    create(tenant, "dup@example.com")
    with pytest.raises(Uniqueness):
        create(tenant, "DUP@example.com")
    assert AuditEvent.objects.count() == 1  # refusals are the view's to record


def test_linking_starts_this_tenants_own_profile(tenant, other_tenant):
    theirs = create(other_tenant, "shared@example.com", title="Theirs", password="x-Secret-1")
    read = create_read(tenant, "shared@example.com", title="Ours", password="y-Secret-2")
    ours = read.access
    assert ours.user_id == theirs.user_id
    assert (ours.title, read.values) == ("Ours", [])  # the response needs no read-back
    profiles = dict(TenantAccess.objects.values_list("tenant_id", "title"))
    assert profiles == {"other": "Theirs", "main": "Ours"}
    assert check_password("y-Secret-2", TenantAccess.objects.get(pk=ours.pk).scim_password)
    assert check_password("x-Secret-1", TenantAccess.objects.get(pk=theirs.pk).scim_password)
    assert User.objects.get(pk=ours.user_id).primary_tenant_id == "other"


def test_each_tenants_replace_writes_its_own_profile(tenant, other_tenant):
    first = create(tenant, "p@example.com", title="Before")
    create(other_tenant, "p@example.com")
    for who, title in ((other_tenant, "Theirs"), (tenant, "After")):
        scim_user_replace(
            tenant=who,
            user_id=str(first.user_id),
            document={"userName": "p@example.com", "title": title, "externalId": who.pk},
            if_match=None,
            audit=entry("scim.users.replace", 200),
        )
    assert set(TenantAccess.objects.values_list("tenant_id", "external_id", "title")) == {
        ("main", "main", "After"),
        ("other", "other", "Theirs"),
    }
    with pytest.raises(Mutability):
        scim_user_replace(
            tenant=other_tenant,
            user_id=str(first.user_id),
            document={"userName": "renamed@example.com"},
            if_match=None,
            audit=entry("scim.users.replace", 200),
        )
    assert User.objects.get(pk=first.user_id).user_name == "p@example.com"


def test_patch_checks_the_version(tenant):
    access = create(tenant, "v@example.com")
    patch = operations({"op": "replace", "path": "title", "value": "x"})
    with pytest.raises(PreconditionFailed):
        scim_user_patch(
            tenant=tenant,
            user_id=str(access.user_id),
            operations=patch,
            if_match='W/"9-9"',
            audit=entry(),
        )
    with pytest.raises(NotFound):
        scim_user_patch(
            tenant=tenant, user_id="not-an-id", operations=patch, if_match=None, audit=entry()
        )


def test_a_manager_must_be_in_the_tenant(tenant, other_tenant):
    stranger = create(other_tenant, "stranger@example.com")
    with pytest.raises(InvalidValue, match="not the id of a user of this tenant"):
        create(
            tenant, "e@example.com", **{ENTERPRISE: {"manager": {"value": str(stranger.user_id)}}}
        )


def test_delete_removes_access_memberships_and_bindings_only(tenant, other_tenant):
    access = create(tenant, "gone@example.com")
    create(other_tenant, "gone@example.com")
    group = scim_group_create(
        tenant=tenant,
        integration=None,
        document={"displayName": "G", "members": [{"value": str(access.user_id)}]},
        audit=entry("scim.groups.create"),
    )
    Binding.objects.create(tenant=tenant, role=RoleFactory(tenant=tenant), user_id=access.user_id)
    scim_user_delete(tenant=tenant, user_id=str(access.user_id), if_match=None, audit=entry())
    assert not TenantAccess.objects.filter(tenant=tenant).exists()
    assert not GroupMembership.objects.filter(group=group).exists()
    assert not Binding.objects.filter(user_id=access.user_id).exists()
    assert TenantAccess.objects.filter(tenant=other_tenant).exists()


def test_group_services_apply_member_deltas(tenant):
    users = [str(create(tenant, f"m{i}@example.com").user_id) for i in range(3)]
    group = scim_group_create(
        tenant=tenant,
        integration=None,
        document={"displayName": "Team", "members": [{"value": users[0]}]},
        audit=entry("scim.groups.create"),
    )
    scim_group_patch(
        tenant=tenant,
        group_id=str(group.pk),
        operations=operations(
            {"op": "add", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]},
            {"op": "remove", "path": f'members[value eq "{users[0]}"]'},
        ),
        if_match=None,
        audit=entry("scim.groups.update", 204),
    )
    members = set(
        GroupMembership.objects.filter(group=group).values_list("access__user_id", flat=True)
    )
    assert {str(m) for m in members} == set(users[1:])
    replaced = scim_group_replace(
        tenant=tenant,
        group_id=str(group.pk),
        document={"displayName": "Renamed", "members": []},
        if_match=None,
        audit=entry("scim.groups.replace", 200),
    )
    assert replaced.display_name == "Renamed" and replaced.version == 3
    assert not GroupMembership.objects.filter(group=group).exists()
    scim_group_delete(tenant=tenant, group_id=str(group.pk), if_match=None, audit=entry())
    assert not Group.objects.exists()


def test_group_members_must_be_users_of_the_tenant(tenant, other_tenant):
    stranger = create(other_tenant, "s@example.com")
    with pytest.raises(InvalidValue, match="Not users of this tenant"):
        scim_group_create(
            tenant=tenant,
            integration=None,
            document={"displayName": "G", "members": [{"value": str(stranger.user_id)}]},
            audit=entry("scim.groups.create"),
        )
    assert not Group.objects.exists()


def test_a_user_made_in_the_admin_keeps_its_identity(tenant):
    person = UserFactory(user_name="made-here@example.com")
    linked = create(tenant, "made-here@example.com", title="This tenant's")
    person.refresh_from_db()
    assert linked.user_id == person.pk and person.primary_tenant_id is None
    with pytest.raises(Mutability):
        scim_user_patch(
            tenant=tenant,
            user_id=str(person.pk),
            operations=operations({"op": "replace", "path": "userName", "value": "x@example.com"}),
            if_match=None,
            audit=entry(),
        )
