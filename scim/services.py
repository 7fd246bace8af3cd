"""SCIM writes: users and groups of one tenant, each inside one transaction with its audit event.

Every function takes the tenant as a keyword and scopes every query by it, and an `AuditEntry`
that it records in the same transaction (a write and its event commit together or not at all).
Global users are written only as far as the tenant may (see `kestra_iam.ownership`);
administrators are not written at all. Conflicts on the database's unique constraints become
`409 uniqueness`; group members change by SQL deltas (insert the new memberships, delete the
removed ones), never by rewriting the whole group, under a row lock on the group so concurrent
PATCHes of one group serialise instead of losing updates.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils.timezone import now

from kestra_iam.audit import AuditEntry
from kestra_iam.models import Binding, Group, GroupMembership, Tenant, TenantAccess, User, UserValue
from kestra_iam.ownership import is_administrator, may_write_profile, owner_tenant_subquery
from kestra_iam.text import case_insensitive_key
from kestra_iam.transactions import retry_once_on_conflict
from provisioning.models import ProvisioningIntegration
from scim import groups as group_resource
from scim import users as user_resource
from scim.conf import scim_settings
from scim.exceptions import Forbidden, InvalidValue, NotFound, PreconditionFailed, Uniqueness
from scim.patch import MemberChange, Operation, PatchApplier
from scim.schema import GROUP_RESOURCE, USER_RESOURCE

USER_EXISTS = "A user with this userName already exists."
ADMINISTRATOR = (
    "This user is an administrator of this instance; administrators are managed in the admin "
    "site, not by provisioning."
)
GROUP_EXISTS = "A group with this displayName already exists in this tenant."
# What a tenant's identity provider owns on its access, whoever owns the profile.
PER_TENANT_ATTRIBUTES = ("externalId", "active")


def check_version(current: str, if_match: str | None) -> None:
    """RFC 7644 §3.14: a write with If-Match applies only to the version the client saw."""
    if if_match is None:
        return
    candidates = [c.strip() for c in if_match.split(",")]
    if "*" in candidates:
        return
    normalised = {c.removeprefix("W/") for c in candidates}
    if current.removeprefix("W/") not in normalised:
        raise PreconditionFailed()


# --- users --------------------------------------------------------------------------------------


def _user_pk(user_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(user_id))
    except ValueError:
        raise NotFound() from None


def _locked_access(tenant: Tenant, user_id: str, *, for_delete: bool = False) -> TenantAccess:
    """The access (and user) rows, locked for this transaction, with the profile's owner.

    Edits take FOR NO KEY UPDATE, which does not conflict with the KEY SHARE lock a concurrent
    membership insert takes on the access, so user PATCHes and group PATCHes do not wait on each
    other; a deletion takes FOR UPDATE. Administrators are found, then refused: reading them is
    allowed, writing them is not.
    """
    access = (
        TenantAccess.objects.for_tenant(tenant)
        .select_for_update(of=("self", "user"), no_key=not for_delete)
        .select_related("user")
        .annotate(owner_tenant_id=owner_tenant_subquery())
        .filter(user_id=_user_pk(user_id))
        .first()
    )
    if access is None:
        raise NotFound()
    if is_administrator(access.user):
        raise Forbidden(ADMINISTRATOR)
    return access


def _manager_for_write(tenant: Tenant, user: User, document: dict, *, keep_hidden: bool):
    """The manager a profile write stores: the one the document names, which must be a user
    of this tenant; else none — except that a manager this tenant cannot see (one without
    access to it) is left as it is when `keep_hidden`, since the tenant can neither see nor
    address it."""
    manager_id = user_resource.manager_id(document)
    if manager_id is None:
        if keep_hidden and user.manager_id and not _has_access(tenant, user.manager_id):
            return user.manager_id
        return None
    try:
        pk = uuid.UUID(manager_id)
    except ValueError:
        raise InvalidValue(
            f"manager {manager_id!r} is not the id of a user of this tenant."
        ) from None
    if pk == user.pk:
        raise InvalidValue("A user cannot be their own manager.")
    if not _has_access(tenant, pk):
        raise InvalidValue(f"manager {manager_id!r} is not the id of a user of this tenant.")
    return pk


def _has_access(tenant: Tenant, user_pk) -> bool:
    return TenantAccess.objects.for_tenant(tenant).filter(user_id=user_pk).exists()


def _write_profile(user: User, document: dict, manager_id) -> bool:
    """Store the document's global profile on an existing user; returns whether it changed."""
    fields = user_resource.user_fields(document)
    fields["manager_id"] = manager_id
    updates = {name: value for name, value in fields.items() if getattr(user, name) != value}
    if "user_name" in updates:
        updates["user_name_key"] = case_insensitive_key(updates["user_name"])
    new_rows = user_resource.value_rows(user, document)
    rows_changed = _rows_differ(user, new_rows)
    if updates or rows_changed:
        _save_new_version(user, updates)
    if rows_changed:
        UserValue.objects.filter(user=user).delete()
        UserValue.objects.bulk_create(new_rows)
    return bool(updates or rows_changed)


def _save_new_version(instance: User | Group, changes: dict) -> None:
    """Write the changed columns and a new version (the resource's ETag).

    The row is locked by the caller's transaction, so the instance is kept equal to it without
    reading it back.
    """
    updated_at = now()
    type(instance).objects.filter(pk=instance.pk).update(
        **changes, version=F("version") + 1, updated_at=updated_at
    )
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.version += 1
    instance.updated_at = updated_at


def _rows_differ(user: User, new_rows: list[UserValue]) -> bool:
    def signature(row: UserValue) -> tuple:
        return (
            row.attribute,
            row.position,
            row.value,
            row.type,
            row.primary,
            row.display,
            row.extra,
        )

    current = [
        signature(r) for r in UserValue.objects.filter(user=user).order_by("attribute", "position")
    ]
    return sorted(current, key=repr) != sorted((signature(r) for r in new_rows), key=repr)


UNCHANGED = object()  # a write that leaves the password as it is


def _store_password(user: User, encoded: str | None) -> None:
    """Store an already hashed password; None makes the password unusable."""
    User.objects.filter(pk=user.pk).update(password=encoded or make_password(None))


def hash_password(password: str | None) -> str | None:
    """Hash a password sent over SCIM before any row is locked: hashing is deliberately slow
    (hundreds of milliseconds) and must not hold locks that other requests wait on."""
    return make_password(password) if password is not None else None


@retry_once_on_conflict
def scim_user_create(
    *,
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    password_hashes: dict[str, str] | None = None,
    audit: AuditEntry,
) -> TenantAccess:
    """POST /Users: a new user, or a known userName linked into this tenant (same id).

    Linking an existing user gives this tenant an access with its own externalId and active;
    the profile and the password are written only if this tenant may write them (see
    `kestra_iam.ownership`). A user nobody has access to any more is taken over: the body
    becomes its whole profile and an earlier password stops working unless the body sets one.
    An administrator's userName is a conflict like any other.
    """
    password = document.pop("password", None)
    try:
        with transaction.atomic():
            user = (
                User.objects.select_for_update()
                .annotate(
                    owner_tenant_id=owner_tenant_subquery("pk"),
                    in_tenant=Exists(
                        TenantAccess.objects.for_tenant(tenant).filter(user_id=OuterRef("pk"))
                    ),
                )
                .filter(user_name_key=case_insensitive_key(document["userName"]))
                .first()
            )
            if user is None:
                user = _new_user(tenant, document, _hashed(password, password_hashes))
                profile_written = True
            else:
                profile_written = _link_existing(tenant, user, document, password, password_hashes)
            access = TenantAccess.objects.create(
                tenant=tenant,
                user=user,
                external_id=document.get("externalId", ""),
                active=document.get("active"),
                provisioned_by=integration,
            )
            audit.record(resource_id=user.pk)
    except IntegrityError:
        # Another request created the same userName (in any case) or access concurrently.
        raise Uniqueness(USER_EXISTS) from None
    access.user = user
    if profile_written:
        # What the response shows is what was just written: no need to read it back.
        access.loaded_values = [
            (row.attribute, row.value, row.type, row.primary, row.display, row.extra)
            for row in user_resource.value_rows(user, document)
        ]
    access.loaded_groups = []  # a new access is in no group yet
    return access


def _new_user(tenant: Tenant, document: dict, password_hash: str | None) -> User:
    manager = user_resource.manager_id(document)
    user = User(**user_resource.user_fields(document), site_managed=False)
    user.manager_id = (
        _manager_for_write(tenant, user, document, keep_hidden=False) if manager else None
    )
    user.password = password_hash or make_password(None)
    user.save(force_insert=True)
    UserValue.objects.bulk_create(user_resource.value_rows(user, document))
    return user


def _link_existing(
    tenant: Tenant,
    user: User,
    document: dict,
    password: str | None,
    password_hashes: dict[str, str] | None,
) -> bool:
    """Link a known userName into this tenant; returns whether its profile was written."""
    if is_administrator(user) or user.in_tenant:
        raise Uniqueness(USER_EXISTS)
    if not may_write_profile(user=user, tenant=tenant, owner_tenant_id=user.owner_tenant_id):
        return False
    orphan = user.owner_tenant_id is None
    manager = _manager_for_write(tenant, user, document, keep_hidden=not orphan)
    _write_profile(user, document, manager)
    if orphan or password is not None:
        _store_password(user, _hashed(password, password_hashes))
    return True


@retry_once_on_conflict
def scim_user_replace(
    *,
    tenant: Tenant,
    user_id: str,
    document: dict,
    if_match: str | None,
    password_hashes: dict[str, str] | None = None,
    audit: AuditEntry,
) -> None:
    """PUT /Users/{id}: the document becomes the user's state; absent attributes are cleared
    (a password is changed only when the document carries one).

    A tenant that does not own the profile changes only its own attributes (externalId,
    active); the rest of the document is accepted and has no effect.
    """
    password = document.pop("password", UNCHANGED)
    _update_user(
        tenant=tenant,
        user_id=user_id,
        if_match=if_match,
        build=lambda _: (document, password),
        password_hashes=password_hashes,
        audit=audit,
    )


@retry_once_on_conflict
def scim_user_patch(
    *,
    tenant: Tenant,
    user_id: str,
    operations: list[Operation],
    if_match: str | None,
    password_hashes: dict[str, str] | None = None,
    audit: AuditEntry,
) -> None:
    """PATCH /Users/{id}: apply the operations to what this tenant sees, atomically."""

    def build(access: TenantAccess):
        applier = PatchApplier(
            USER_RESOURCE, user_resource.CLEANER, resource_id=str(access.user_id)
        )
        user_resource.load_details([access], values=True, groups=False, managers=True)
        result = applier.apply(user_resource.user_document(access), operations)
        if result.password_removed:
            return result.document, None
        return result.document, UNCHANGED if result.password is None else result.password

    _update_user(
        tenant=tenant,
        user_id=user_id,
        if_match=if_match,
        build=build,
        password_hashes=password_hashes,
        audit=audit,
    )


def _update_user(
    *,
    tenant: Tenant,
    user_id: str,
    if_match: str | None,
    build,
    password_hashes: dict[str, str] | None,
    audit: AuditEntry,
) -> None:
    """Lock, check the version, build the new document, write what this tenant may write.

    `build(access)` returns the new document and the password: UNCHANGED, None (no usable
    password) or the one to set, whose hash the caller computed beforehand if it could.
    """
    try:
        with transaction.atomic():
            access = _locked_access(tenant, user_id)
            check_version(user_resource.user_version(access), if_match)
            document, password = build(access)
            user = access.user
            if may_write_profile(user=user, tenant=tenant, owner_tenant_id=access.owner_tenant_id):
                new_key = case_insensitive_key(document["userName"])
                if (
                    new_key != user.user_name_key
                    and User.objects.filter(user_name_key=new_key).exclude(pk=user.pk).exists()
                ):
                    raise Uniqueness("Another user already has this userName.")
                manager = _manager_for_write(tenant, user, document, keep_hidden=True)
                _write_profile(user, document, manager)
                if password is not UNCHANGED:
                    _store_password(user, _hashed(password, password_hashes))
            external_id = document.get("externalId", "")
            active = document.get("active")
            if (access.external_id, access.active) != (external_id, active):
                TenantAccess.objects.filter(pk=access.pk).update(
                    external_id=external_id,
                    active=active,
                    version=F("version") + 1,
                    updated_at=now(),
                )
            audit.record(resource_id=access.user_id)
    except IntegrityError:
        raise Uniqueness("Another user already has this userName.") from None


def _hashed(password: str | None, hashes: dict[str, str] | None) -> str | None:
    if password is None:
        return None
    return (hashes or {}).get(password) or hash_password(password)


@retry_once_on_conflict
def scim_user_delete(
    *, tenant: Tenant, user_id: str, if_match: str | None, audit: AuditEntry
) -> None:
    """DELETE /Users/{id}: remove the user's access to this tenant, not the user.

    Its group memberships in the tenant go with the access (foreign key cascade) and its role
    bindings in the tenant are removed; other tenants keep seeing the user. If this tenant
    owned the profile, ownership passes to the tenant with the oldest remaining access.
    """
    with transaction.atomic():
        # Lock order, everywhere: group rows (by primary key), then access rows. A group PATCH
        # locks its group before the accesses it adds, so taking the groups first here keeps
        # a DELETE racing a PATCH from deadlocking.
        group_ids = list(
            GroupMembership.objects.filter(
                access__tenant=tenant, access__user_id=_user_pk(user_id)
            ).values_list("group_id", flat=True)
        )
        locked_groups = list(
            Group.objects.filter(pk__in=group_ids)
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
        access = _locked_access(tenant, user_id, for_delete=True)
        check_version(user_resource.user_version(access), if_match)
        Group.objects.filter(pk__in=locked_groups).update(
            version=F("version") + 1, updated_at=now()
        )
        Binding.objects.filter(tenant=tenant, user_id=access.user_id).delete()
        access.delete()
        audit.record(resource_id=access.user_id)


# --- groups -------------------------------------------------------------------------------------


def _locked_group(tenant: Tenant, group_id: str) -> Group:
    try:
        pk = uuid.UUID(str(group_id))
    except ValueError:
        raise NotFound() from None
    group = Group.objects.for_tenant(tenant).select_for_update().filter(pk=pk).first()
    if group is None:
        raise NotFound()
    return group


def _access_ids(tenant: Tenant, member_ids: Iterable[str], *, strict: bool) -> dict[str, int]:
    """Map member (user) ids to the ids of their accesses to this tenant.

    With `strict`, an id that is not a user of this tenant is a 400 naming it; otherwise it is
    skipped (removing someone who is not a member changes nothing).
    """
    parsed: dict[str, uuid.UUID] = {}
    invalid = []
    for member_id in dict.fromkeys(member_ids):
        try:
            parsed[member_id] = uuid.UUID(member_id)
        except ValueError:
            invalid.append(member_id)
    found = (
        dict(
            TenantAccess.objects.for_tenant(tenant)
            .filter(user_id__in=list(parsed.values()))
            .values_list("user_id", "id")
        )
        if parsed
        else {}
    )
    result = {member_id: found[pk] for member_id, pk in parsed.items() if pk in found}
    if strict:
        missing = invalid + [member_id for member_id, pk in parsed.items() if pk not in found]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise InvalidValue(f"Not users of this tenant: {shown}{more}. No change was made.")
    return result


def _apply_member_changes(tenant: Tenant, group: Group, changes: list[MemberChange]) -> bool:
    """Apply membership changes in order as SQL deltas; returns whether anything changed."""
    if not changes:
        return False
    to_add = [i for c in changes if c.kind in ("add", "replace") for i in c.ids]
    to_remove = [i for c in changes if c.kind == "remove" for i in c.ids]
    accesses = _access_ids(tenant, to_add, strict=True)
    accesses.update(_access_ids(tenant, to_remove, strict=False))
    changed = False
    memberships = GroupMembership.objects.filter(group=group)
    for change in changes:
        access_ids = {accesses[i] for i in change.ids if i in accesses}
        if change.kind == "remove":
            if access_ids:
                changed |= memberships.filter(access_id__in=access_ids).delete()[0] > 0
        elif change.kind == "replace":
            changed |= memberships.exclude(access_id__in=access_ids).delete()[0] > 0
            changed |= _insert_members(group, access_ids)
        else:
            changed |= _insert_members(group, access_ids)
    return changed


def _insert_members(group: Group, access_ids: set[int]) -> bool:
    """Insert memberships in one statement, however many; returns whether any was new.

    One `INSERT … SELECT` over an array parameter: the cost of adding 10,000 members is one
    query, as for one member, and a member already present (or added concurrently) is skipped
    by the unique constraint instead of failing the request.
    """
    if not access_ids:
        return False
    table = connection.ops.quote_name(GroupMembership._meta.db_table)
    group_id = Group._meta.pk.get_db_prep_value(group.pk, connection)
    created_at = GroupMembership._meta.get_field("created_at").get_db_prep_value(now(), connection)
    ids = sorted(access_ids)
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} (group_id, access_id, created_at) "
            "SELECT %s, unnest(%s::bigint[]), %s ON CONFLICT (group_id, access_id) DO NOTHING"
        )
        params = [group_id, ids, created_at]
    else:
        sql = (
            # The table name comes from model metadata; every value is a bound parameter.
            f"INSERT OR IGNORE INTO {table} (group_id, access_id, created_at) "  # noqa: S608
            "SELECT %s, value, %s FROM json_each(%s)"
        )
        params = [group_id, created_at, json.dumps(ids)]
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Django declares foreign keys DEFERRABLE INITIALLY DEFERRED; check this insert
                # now, so a member deleted concurrently fails here (a clear 400), not at COMMIT.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql, params)
            return cursor.rowcount > 0
    except IntegrityError:
        # A DELETE /Users removed one of these members' access after we resolved it.
        raise InvalidValue(
            "A member was removed from this tenant while the request ran; no change was made."
        ) from None


def _members_from_document(document: dict) -> list[str]:
    return [member["value"] for member in document.get("members", ()) if member.get("value")]


@retry_once_on_conflict
def scim_group_create(*, tenant: Tenant, document: dict, audit: AuditEntry) -> Group:
    """POST /Groups: a group of this tenant, with the members the body lists (if any)."""
    try:
        with transaction.atomic():
            if (
                Group.objects.for_tenant(tenant)
                .filter(display_name_key=case_insensitive_key(document["displayName"]))
                .exists()
            ):
                raise Uniqueness(GROUP_EXISTS)
            group = Group.objects.create(
                tenant=tenant,
                display_name=document["displayName"],
                external_id=document.get("externalId", ""),
            )
            members = _members_from_document(document)
            if members:
                _apply_member_changes(tenant, group, [MemberChange("add", members)])
            audit.record(resource_id=group.pk)
    except IntegrityError:
        raise Uniqueness(GROUP_EXISTS) from None
    return group


@retry_once_on_conflict
def scim_group_replace(
    *, tenant: Tenant, group_id: str, document: dict, if_match: str | None, audit: AuditEntry
) -> Group:
    """PUT /Groups/{id}: name, externalId and the whole member list as given."""
    members = _members_from_document(document)
    return _update_group(
        tenant=tenant,
        group_id=group_id,
        if_match=if_match,
        build=lambda group: (document, [MemberChange("replace", members)]),
        audit=audit,
    )


@retry_once_on_conflict
def scim_group_patch(
    *,
    tenant: Tenant,
    group_id: str,
    operations: list[Operation],
    if_match: str | None,
    audit: AuditEntry,
) -> Group:
    """PATCH /Groups/{id}: attributes on the row, members as deltas, all or nothing."""

    def build(group: Group):
        applier = PatchApplier(
            GROUP_RESOURCE,
            group_resource.CLEANER,
            resource_id=str(group.pk),
            member_attribute="members",
            max_members=scim_settings().max_members,
        )
        current = {"displayName": group.display_name}
        if group.external_id:
            current["externalId"] = group.external_id
        result = applier.apply(current, operations)
        return result.document, result.member_changes

    return _update_group(
        tenant=tenant, group_id=group_id, if_match=if_match, build=build, audit=audit
    )


def _update_group(
    *, tenant: Tenant, group_id: str, if_match: str | None, build, audit: AuditEntry
) -> Group:
    try:
        with transaction.atomic():
            group = _locked_group(tenant, group_id)
            check_version(group_resource.group_version(group), if_match)
            document, member_changes = build(group)
            display_name = document["displayName"]
            external_id = document.get("externalId", "")
            changed_fields = {}
            if display_name != group.display_name:
                if (
                    Group.objects.for_tenant(tenant)
                    .filter(display_name_key=case_insensitive_key(display_name))
                    .exclude(pk=group.pk)
                    .exists()
                ):
                    raise Uniqueness(GROUP_EXISTS)
                changed_fields.update(
                    display_name=display_name, display_name_key=case_insensitive_key(display_name)
                )
            if external_id != group.external_id:
                changed_fields["external_id"] = external_id
            members_changed = _apply_member_changes(tenant, group, member_changes)
            if changed_fields or members_changed:
                _save_new_version(group, changed_fields)
            audit.record(resource_id=group.pk)
    except IntegrityError:
        raise Uniqueness(GROUP_EXISTS) from None
    return group


@retry_once_on_conflict
def scim_group_delete(
    *, tenant: Tenant, group_id: str, if_match: str | None, audit: AuditEntry
) -> None:
    """DELETE /Groups/{id}: the group, its memberships and the bindings given to it."""
    with transaction.atomic():
        group = _locked_group(tenant, group_id)
        check_version(group_resource.group_version(group), if_match)
        group.delete()
        audit.record(resource_id=group_id)
