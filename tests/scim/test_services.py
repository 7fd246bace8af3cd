"""The SCIM write services, called directly (the HTTP tests cover the same through the views).

Each service takes the tenant and an AuditEntry, writes inside one transaction, records the
event in it, and raises SCIM errors the views only translate.
"""

import pytest
from django.contrib.auth.hashers import check_password

from kestra_iam.audit import AuditEntry
from kestra_iam.models import AuditEvent, Binding, Group, GroupMembership, TenantAccess, User
from scim.conf import SCIMSettings
from scim.exceptions import Forbidden, InvalidValue, NotFound, PreconditionFailed, Uniqueness
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
    return scim_user_create(
        tenant=tenant,
        integration=None,
        document={"userName": user_name, **document},
        audit=entry(),
    )


def test_create_writes_the_user_its_access_and_one_event(tenant):
    access = create(tenant, "new@example.com", externalId="ext", emails=[{"value": "a@b.c"}])
    assert access.tenant_id == "main" and access.external_id == "ext"
    assert access.loaded_values == [("emails", "a@b.c", "", None, "", {})]
    user = User.objects.get(pk=access.user_id)
    assert not user.site_managed and not user.has_usable_password()
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
    )
    stored = User.objects.get(pk=access.user_id).password
    assert passwords.hashes_made == 1 and stored == passwords.hash("Pre-Hashed-1")
    assert check_password("Pre-Hashed-1", stored)


def test_create_in_the_same_tenant_is_a_conflict_and_records_nothing(tenant):
    create(tenant, "dup@example.com")
    with pytest.raises(Uniqueness):
        create(tenant, "DUP@example.com")
    assert AuditEvent.objects.count() == 1  # refusals are the view's to record


def test_linking_by_a_non_owner_leaves_the_profile(tenant, other_tenant):
    theirs = create(other_tenant, "shared@example.com", title="Theirs", password="x-Secret-1")
    ours = create(tenant, "shared@example.com", title="Ours", password="y-Secret-2")
    assert ours.user_id == theirs.user_id
    user = User.objects.get(pk=ours.user_id)
    assert user.title == "Theirs" and not check_password("y-Secret-2", user.password)
    assert not hasattr(ours, "loaded_values")  # not written here: the view reads it back


def test_replace_by_the_owner_and_by_a_non_owner(tenant, other_tenant):
    owner = create(tenant, "p@example.com", title="Before")
    create(other_tenant, "p@example.com")
    for who, title in ((other_tenant, "Ignored"), (tenant, "After")):
        scim_user_replace(
            tenant=who,
            user_id=str(owner.user_id),
            document={"userName": "p@example.com", "title": title, "externalId": who.pk},
            if_match=None,
            audit=entry("scim.users.replace", 200),
        )
    assert User.objects.get(pk=owner.user_id).title == "After"
    assert set(TenantAccess.objects.values_list("tenant_id", "external_id")) == {
        ("main", "main"),
        ("other", "other"),
    }


def test_patch_checks_the_version_and_refuses_administrators(tenant):
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
    User.objects.filter(pk=access.user_id).update(is_staff=True)
    with pytest.raises(Forbidden):
        scim_user_patch(
            tenant=tenant,
            user_id=str(access.user_id),
            operations=patch,
            if_match=None,
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


def test_a_site_managed_user_is_never_rewritten(tenant):
    person = UserFactory(user_name="made-here@example.com", title="Kept")
    create(tenant, "made-here@example.com", title="Changed")
    person.refresh_from_db()
    assert person.title == "Kept" and person.site_managed
