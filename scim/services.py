"""SCIM writes: users and groups of one tenant, each inside one transaction.

Every function takes the tenant as a keyword and scopes every query by it. Conflicts on the
database's unique constraints become `409 uniqueness`; group members change by SQL deltas
(insert the new memberships, delete the removed ones), never by rewriting the whole group, under
a row lock on the group so concurrent PATCHes of one group serialise instead of losing updates.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.timezone import now

from kestra_iam.models import Binding, Group, GroupMembership, Tenant, TenantAccess, User, UserValue
from kestra_iam.text import case_insensitive_key
from kestra_iam.transactions import retry_once_on_conflict
from provisioning.models import ProvisioningIntegration
from scim import groups as group_resource
from scim import users as user_resource
from scim.conf import scim_settings
from scim.exceptions import InvalidValue, Mutability, NotFound, PreconditionFailed, Uniqueness
from scim.patch import MemberChange, Operation, PatchApplier
from scim.schema import GROUP_RESOURCE, USER_RESOURCE

USER_EXISTS = "A user with this userName already exists in this tenant."
ADMIN_ACCOUNT = (
    "This userName belongs to an administrator of this instance; administrators are managed in "
    "the admin site, not by provisioning."
)
GROUP_EXISTS = "A group with this displayName already exists in this tenant."


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


def _is_admin(user: User) -> bool:
    return user.is_staff or user.is_superuser


# --- users --------------------------------------------------------------------------------------


def _user_pk(user_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(user_id))
    except ValueError:
        raise NotFound() from None


def _locked_access(tenant: Tenant, user_id: str, *, for_delete: bool = False) -> TenantAccess:
    """The access (and user) rows, locked for this transaction.

    Edits take FOR NO KEY UPDATE, which does not conflict with the KEY SHARE lock a concurrent
    membership insert takes on the access, so user PATCHes and group PATCHes do not wait on each
    other; a deletion takes FOR UPDATE.
    """
    access = (
        TenantAccess.objects.for_tenant(tenant)
        .select_for_update(of=("self", "user"), no_key=not for_delete)
        .select_related("user")
        .filter(user_id=_user_pk(user_id))
        .first()
    )
    if access is None:
        raise NotFound()
    return access


def _manager(tenant: Tenant, user: User | None, document: dict) -> User | None:
    manager_id = user_resource.manager_id(document)
    if manager_id is None:
        return None
    try:
        pk = uuid.UUID(manager_id)
    except ValueError:
        raise InvalidValue(
            f"manager {manager_id!r} is not the id of a user of this tenant."
        ) from None
    if user is not None and pk == user.pk:
        raise InvalidValue("A user cannot be their own manager.")
    manager = User.objects.for_tenant(tenant).filter(pk=pk).first()
    if manager is None:
        raise InvalidValue(f"manager {manager_id!r} is not the id of a user of this tenant.")
    return manager


def _write_profile(user: User, document: dict, manager: User | None) -> bool:
    """Store the document's global profile on an existing user; returns whether it changed."""
    fields = user_resource.user_fields(document)
    fields["manager_id"] = manager.pk if manager is not None else None
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


def _set_password(user: User, password: str | None, *, removed: bool = False) -> None:
    if password is None and not removed:
        return
    if _is_admin(user):
        raise Mutability("The password of an administrator cannot be set by provisioning.")
    encoded = make_password(password)  # None → an unusable password
    User.objects.filter(pk=user.pk).update(password=encoded)


@retry_once_on_conflict
def scim_user_create(
    *, tenant: Tenant, integration: ProvisioningIntegration | None, document: dict
) -> TenantAccess:
    """POST /Users: a new user, or a known userName linked into this tenant (same id)."""
    password = document.pop("password", None)
    try:
        with transaction.atomic():
            key = case_insensitive_key(document["userName"])
            user = User.objects.select_for_update().filter(user_name_key=key).first()
            if user is not None:
                if _is_admin(user):
                    raise Uniqueness(ADMIN_ACCOUNT)
                if TenantAccess.objects.filter(tenant=tenant, user=user).exists():
                    raise Uniqueness(USER_EXISTS)
                _write_profile(user, document, _manager(tenant, user, document))
            else:
                user = User(**user_resource.user_fields(document))
                user.manager = _manager(tenant, None, document)
                user.set_password(password)
                password = None
                user.save(force_insert=True)
                UserValue.objects.bulk_create(user_resource.value_rows(user, document))
            _set_password(user, password)
            access = TenantAccess.objects.create(
                tenant=tenant,
                user=user,
                external_id=document.get("externalId", ""),
                active=document.get("active"),
                provisioned_by=integration,
            )
    except IntegrityError:
        # Another request created the same userName (in any case) or access concurrently.
        raise Uniqueness(USER_EXISTS) from None
    # What the response shows is what was just written: no need to read it back.
    access.loaded_values = [
        (row.attribute, row.value, row.type, row.primary, row.display, row.extra)
        for row in user_resource.value_rows(user, document)
    ]
    access.loaded_groups = []  # a new access is in no group yet
    return access


@retry_once_on_conflict
def scim_user_replace(
    *, tenant: Tenant, user_id: str, document: dict, if_match: str | None
) -> None:
    """PUT /Users/{id}: the document becomes the user's state; absent attributes are cleared."""
    password = document.pop("password", None)
    _update_user(
        tenant=tenant,
        user_id=user_id,
        if_match=if_match,
        build=lambda _: (document, password, False),
    )


@retry_once_on_conflict
def scim_user_patch(
    *, tenant: Tenant, user_id: str, operations: list[Operation], if_match: str | None
) -> None:
    """PATCH /Users/{id}: apply the operations to the current document, atomically."""

    def build(access: TenantAccess):
        applier = PatchApplier(
            USER_RESOURCE, user_resource.CLEANER, resource_id=str(access.user_id)
        )
        current = user_resource.user_document(access)
        result = applier.apply(current, operations)
        return result.document, result.password, result.password_removed

    _update_user(tenant=tenant, user_id=user_id, if_match=if_match, build=build)


def _update_user(*, tenant: Tenant, user_id: str, if_match: str | None, build) -> None:
    try:
        with transaction.atomic():
            access = _locked_access(tenant, user_id)
            check_version(user_resource.user_version(access), if_match)
            document, password, password_removed = build(access)
            user = access.user
            new_key = case_insensitive_key(document["userName"])
            if new_key != user.user_name_key:
                if _is_admin(user):
                    raise Mutability(
                        "The userName of an administrator cannot be changed by provisioning."
                    )
                if User.objects.filter(user_name_key=new_key).exclude(pk=user.pk).exists():
                    raise Uniqueness("Another user already has this userName.")
            _write_profile(user, document, _manager(tenant, user, document))
            _set_password(user, password, removed=password_removed)
            external_id = document.get("externalId", "")
            active = document.get("active")
            if (access.external_id, access.active) != (external_id, active):
                TenantAccess.objects.filter(pk=access.pk).update(
                    external_id=external_id,
                    active=active,
                    version=F("version") + 1,
                    updated_at=now(),
                )
    except IntegrityError:
        raise Uniqueness("Another user already has this userName.") from None


@retry_once_on_conflict
def scim_user_delete(*, tenant: Tenant, user_id: str, if_match: str | None) -> None:
    """DELETE /Users/{id}: remove the user's access to this tenant, not the user.

    Its group memberships in the tenant go with the access (foreign key cascade) and its role
    bindings in the tenant are removed; other tenants keep seeing the user.
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
def scim_group_create(*, tenant: Tenant, document: dict) -> Group:
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
    except IntegrityError:
        raise Uniqueness(GROUP_EXISTS) from None
    return group


@retry_once_on_conflict
def scim_group_replace(
    *, tenant: Tenant, group_id: str, document: dict, if_match: str | None
) -> Group:
    """PUT /Groups/{id}: name, externalId and the whole member list as given."""
    members = _members_from_document(document)
    return _update_group(
        tenant=tenant,
        group_id=group_id,
        if_match=if_match,
        build=lambda group: (document, [MemberChange("replace", members)]),
    )


@retry_once_on_conflict
def scim_group_patch(
    *, tenant: Tenant, group_id: str, operations: list[Operation], if_match: str | None
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

    return _update_group(tenant=tenant, group_id=group_id, if_match=if_match, build=build)


def _update_group(*, tenant: Tenant, group_id: str, if_match: str | None, build) -> Group:
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
    except IntegrityError:
        raise Uniqueness(GROUP_EXISTS) from None
    return group


@retry_once_on_conflict
def scim_group_delete(*, tenant: Tenant, group_id: str, if_match: str | None) -> None:
    """DELETE /Groups/{id}: the group, its memberships and the bindings given to it."""
    with transaction.atomic():
        group = _locked_group(tenant, group_id)
        check_version(group_resource.group_version(group), if_match)
        group.delete()
