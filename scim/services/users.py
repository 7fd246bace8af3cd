"""SCIM writes of users: create (or link), replace, patch, and remove from a tenant.

A SCIM user in a tenant is the tenant's access to a global user, and the access holds the
tenant's own profile of the person (`kestra_iam.profiles`): a write changes that profile and
nothing another tenant sees. The one global attribute, userName, only the user's primary
tenant may change.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DataError, IntegrityError, InternalError, ProgrammingError, transaction
from django.db.models import F
from django.utils.timezone import now

from kestra_iam.audit import EVENT_INSERT, AuditEntry, Changes
from kestra_iam.db.compiled import CompiledInsert, insert_atomically, insert_together
from kestra_iam.db.transactions import retry_once_on_conflict
from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import (
    AuditEvent,
    Group,
    GroupMembership,
    Tenant,
    TenantAccess,
    User,
    UserValue,
)
from kestra_iam.profiles import may_rename
from kestra_iam.text import case_insensitive_key
from provisioning.models import ProvisioningIntegration
from scim import lookups
from scim import users as user_resource
from scim.conditional import check_version
from scim.exceptions import InvalidValue, Mutability, Uniqueness, refused_as_uniqueness
from scim.operations import Operation
from scim.patch import PatchApplier
from scim.schema import USER_RESOURCE
from scim.selectors import scim_user_details
from scim.services.locking import write_transaction
from scim.services.passwords import (
    UNCHANGED,
    PasswordHasher,
    patch_may_set_password,
    scim_password_hash,
    unusable_password,
)
from scim.services.user_access import access_of, locked_access, user_pk
from scim.services.user_changes import (
    describe_updates,
    describe_values,
    kind_of_update,
    signature,
)
from scim.services.versions import save_new_version
from scim.users import UserRead

# Every POST inserts a user, an access and its values: compiled once (no signals listen to
# them). A value row follows its access, whose key the database assigns.
USER_INSERT = CompiledInsert(User)
ACCESS_INSERT = CompiledInsert(TenantAccess)
VALUE_INSERT = CompiledInsert(UserValue, follows="access")
USER_EXISTS = "A user with this userName already exists."
NAME_TAKEN = "Another user already has this userName."
NOT_PRIMARY = (
    "userName {current!r} cannot be changed from this tenant: a userName is seen by every "
    "tenant that provisions the person, so only the tenant whose profile is the user's primary "
    "one changes it (a site administrator can make this tenant's the primary profile)."
)


@retry_once_on_conflict
def scim_user_create(
    *,
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    passwords: PasswordHasher | None = None,
    audit: AuditEntry,
) -> UserRead:
    """POST /Users: a new user, or a known userName linked into this tenant (same id).

    Either way the tenant gets an access holding its own profile, built from the body alone:
    a link shows nothing another tenant's identity provider wrote, and answers as a creation
    does — for every userName, an administrator's included, so the answer tells nothing of who
    else knows the person. A userName already in this tenant is a conflict.
    """
    passwords = passwords or PasswordHasher()
    password = document.pop("password", None)
    password_hash = ""
    if password is not None:
        # Hashed only for a write that will store it: not for a userName already here.
        if _in_tenant(tenant, document["userName"]):
            raise Uniqueness(USER_EXISTS)
        password_hash = scim_password_hash(password, passwords)
    created = _insert_new_user(tenant, integration, document, password_hash, audit)
    if created is None:
        created = _create_or_link(tenant, integration, document, password_hash, audit)
    access, values = created
    # Its values as written; a new access is in no group yet.
    return UserRead(access, values=user_resource.value_tuples(values), groups=[])


def _in_tenant(tenant: Tenant, user_name: str) -> bool:
    """Whether the userName (in any case) already has access to the tenant; read without a
    lock, before a password is hashed. The locked path decides again."""
    return TenantAccess.objects.filter(
        tenant=tenant, user__user_name_key=case_insensitive_key(user_name)
    ).exists()


def _insert_new_user(
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    password_hash: str,
    audit: AuditEntry,
) -> tuple[TenantAccess, list[UserValue]] | None:
    """The usual POST — a userName nobody has — without looking it up first.

    The user, its access, the access's values and the audit event are inserted all or none: on
    PostgreSQL one round trip, which is the whole write. None if a constraint refused them (the
    userName is taken, perhaps by a concurrent request): nothing was written, and
    `_create_or_link` decides under a lock.
    """
    user = _new_user(tenant, document)
    access, values = _new_access(tenant, integration, user, document, password_hash)
    event = audit.event(resource_id=user.pk, subject=user.user_name, kind=AuditEvent.Kind.CREATED)
    try:
        insert_atomically([*_access_rows(user, access, values), (EVENT_INSERT, event)])
    except (IntegrityError, DataError, InternalError, ProgrammingError):
        # Refused, nothing written: the userName is taken, or a row could not be stored (the
        # audit trail, say). The careful path decides, and answers as the refusal deserves.
        return None
    return access, values


def _create_or_link(
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    password_hash: str,
    audit: AuditEntry,
) -> tuple[TenantAccess, list[UserValue]]:
    """POST of a userName that may exist: link it into this tenant, or refuse, under its lock."""
    # Not write_transaction(): a create waits only on a request for the same userName
    # (the session's lock timeout bounds that), and POST is the hot path of an initial sync.
    # A unique constraint refuses the same userName (in any case) or access created
    # concurrently: the 409 below.
    with refused_as_uniqueness(USER_EXISTS), transaction.atomic():
        user = lookups.locked_user_for_create(tenant.pk, case_insensitive_key(document["userName"]))
        new_user = user is None  # it was removed since _insert_new_user found it taken
        if new_user:
            user = _new_user(tenant, document)
        elif user.in_tenant:
            raise Uniqueness(USER_EXISTS)
        access, values = _new_access(tenant, integration, user, document, password_hash)
        # The user (if new), its access and the access's values: one round trip on
        # PostgreSQL.
        insert_together(_access_rows(user if new_user else None, access, values))
        audit.record(
            resource_id=user.pk,
            subject=document["userName"],
            kind=AuditEvent.Kind.CREATED if new_user else AuditEvent.Kind.LINKED,
        )
    return access, values


def _new_user(tenant: Tenant, document: dict) -> User:
    """A new identity; the tenant creating it holds its primary profile. Its password is
    unusable: passwords sent over SCIM belong to the tenant's profile."""
    user = User(user_name=document["userName"], primary_tenant=tenant)
    user.password = unusable_password()
    user.sync_canonical_keys()
    return user


def _new_access(
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    user: User,
    document: dict,
    password_hash: str,
) -> tuple[TenantAccess, list[UserValue]]:
    """The tenant's access to `user`, holding the document as its profile, and its values."""
    access = TenantAccess(
        tenant=tenant,
        user=user,
        external_id=document.get("externalId", ""),
        active=document.get("active"),
        provisioned_by_id=integration.pk if integration else None,
        manager_id=_manager_for_write(tenant, user.pk, document),
        scim_password=password_hash,
        **user_resource.profile_fields(document),
    )
    return access, user_resource.value_rows(access, document)


def _access_rows(user: User | None, access: TenantAccess, values: list[UserValue]) -> list:
    rows = [(USER_INSERT, user)] if user is not None else []
    return [*rows, (ACCESS_INSERT, access), *((VALUE_INSERT, value) for value in values)]


@retry_once_on_conflict
def scim_user_replace(
    *,
    tenant: Tenant,
    user_id: str,
    document: dict,
    if_match: str | None,
    passwords: PasswordHasher | None = None,
    audit: AuditEntry,
) -> None:
    """PUT /Users/{id}: the document becomes this tenant's profile of the user; absent
    attributes are cleared (a password is changed only when the document carries one)."""
    password = document.pop("password", UNCHANGED)
    _update_user(
        tenant=tenant,
        user_id=user_id,
        if_match=if_match,
        build=lambda _: (document, password),
        passwords=passwords,
        may_set_password=isinstance(password, str),
        audit=audit,
    )


@retry_once_on_conflict
def scim_user_patch(
    *,
    tenant: Tenant,
    user_id: str,
    operations: list[Operation],
    if_match: str | None,
    passwords: PasswordHasher | None = None,
    audit: AuditEntry,
) -> None:
    """PATCH /Users/{id}: apply the operations to what this tenant sees, atomically."""

    def build(access: TenantAccess):
        applier = PatchApplier.configured(
            USER_RESOURCE, user_resource.CLEANER, resource_id=str(access.user_id)
        )
        read = UserRead(access)
        scim_user_details([read], values=True, groups=False, managers=True)
        result = applier.apply(user_resource.user_document(read), operations)
        if result.password_removed:
            return result.document, None
        return result.document, UNCHANGED if result.password is None else result.password

    _update_user(
        tenant=tenant,
        user_id=user_id,
        if_match=if_match,
        build=build,
        passwords=passwords,
        may_set_password=patch_may_set_password(operations),
        audit=audit,
    )


def _update_user(
    *,
    tenant: Tenant,
    user_id: str,
    if_match: str | None,
    build: Callable[[TenantAccess], tuple[dict, object]],
    passwords: PasswordHasher | None,
    may_set_password: bool,
    audit: AuditEntry,
) -> None:
    """Lock, check the version, build the new document, write it as this tenant's profile.

    `build(access)` returns the new document and the password: UNCHANGED, None (no password)
    or the one to set. When the write `may_set_password`, it is first built from an unlocked
    read, so that the password is hashed only if the write is valid, and before any row is
    locked.
    """
    passwords = passwords or PasswordHasher()
    if may_set_password:
        _hash_the_password_ahead(tenant, user_id, if_match, build, passwords)
    with refused_as_uniqueness(NAME_TAKEN), write_transaction():
        access = locked_access(tenant, user_id)
        check_version(user_resource.user_version(access), if_match)
        document, password = build(access)
        changes = Changes()
        old_name = access.user.user_name
        if _rename(tenant, access.user, document["userName"]):
            changes.attribute("userName", old_name, access.user.user_name)
        _write_profile(tenant, access, document, password, passwords, changes)
        audit.record(
            resource_id=access.user_id,
            subject=access.user.user_name,
            kind=kind_of_update(changes),
            changes=changes,
        )


def _hash_the_password_ahead(
    tenant: Tenant,
    user_id: str,
    if_match: str | None,
    build: Callable[[TenantAccess], tuple[dict, object]],
    passwords: PasswordHasher,
) -> None:
    """The locked write, rehearsed on an unlocked read: the same refusals (404, 412, a 400 for
    an invalid PATCH or a rename this tenant may not make) before anything is hashed, then the
    hash of the password the write will store, if it stores one."""
    access = access_of(tenant, user_id)
    check_version(user_resource.user_version(access), if_match)
    document, password = build(access)
    _check_rename(tenant, access.user, document["userName"])
    if isinstance(password, str):
        passwords.hash(password)


@retry_once_on_conflict
def scim_user_delete(
    *, tenant: Tenant, user_id: str, if_match: str | None, audit: AuditEntry
) -> None:
    """DELETE /Users/{id}: remove the user's access to this tenant, not the user.

    Its group memberships in the tenant go with the access (foreign key cascade), and so do its
    role bindings in the tenant (a database trigger, whoever removes an access); other tenants
    keep seeing the user. The tenant's profile of the user goes with the access; the user's
    primary tenant stays as it was (`kestra_iam.profiles`).
    """
    with write_transaction():
        # Lock order, everywhere: group rows (by primary key), then access rows. A group PATCH
        # locks its group before the accesses it adds, so taking the groups first here keeps
        # a DELETE racing a PATCH from deadlocking.
        group_ids = GroupMembership.objects.filter(
            access__tenant=tenant, access__user_id=user_pk(user_id)
        ).values_list("group_id", flat=True)
        locked_groups = list(
            Group.objects.filter(pk__in=list(group_ids))
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
        access = locked_access(tenant, user_id, for_delete=True)
        check_version(user_resource.user_version(access), if_match)
        Group.objects.filter(pk__in=locked_groups).update(
            version=F("version") + 1, updated_at=now()
        )
        access.delete()
        audit.record(
            resource_id=access.user_id,
            subject=access.user.user_name,
            kind=AuditEvent.Kind.ACCESS_REMOVED,
        )


# --- pieces -------------------------------------------------------------------------------------


def _check_rename(tenant: Tenant, user: User, user_name: str) -> bool:
    """Whether the document renames the user, refusing a rename this tenant may not make.

    Another spelling of the same name (a case difference) from a tenant that is not the
    primary one is no rename: the identity keeps the primary tenant's spelling."""
    if user_name == user.user_name:
        return False
    if may_rename(user, tenant):
        return True
    if case_insensitive_key(user_name) == user.user_name_key:
        return False
    raise Mutability(NOT_PRIMARY.format(current=user.user_name))


def _rename(tenant: Tenant, user: User, user_name: str) -> bool:
    """Rename the user if the document does; returns whether it did."""
    if not _check_rename(tenant, user, user_name):
        return False
    new_key = case_insensitive_key(user_name)
    if new_key != user.user_name_key and (
        User.objects.filter(user_name_key=new_key).exclude(pk=user.pk).exists()
    ):
        raise Uniqueness(NAME_TAKEN)
    save_new_version(user, {"user_name": user_name, "user_name_key": new_key})
    return True


def _manager_for_write(tenant: Tenant, user_pk, document: dict) -> int | None:
    """The access of the manager the document names, which must be a user of this tenant."""
    manager_id = user_resource.manager_id(document)
    if manager_id is None:
        return None
    pk = parse_uuid(manager_id)
    if pk is not None and pk == user_pk:
        raise InvalidValue("A user cannot be their own manager.")
    manager = (
        TenantAccess.objects.for_tenant(tenant).filter(user_id=pk).values_list("pk", flat=True)
        if pk is not None
        else []
    )
    manager = next(iter(manager), None)
    if manager is None:
        raise InvalidValue(f"manager {manager_id!r} is not the id of a user of this tenant.")
    return manager


def _write_profile(
    tenant: Tenant,
    access: TenantAccess,
    document: dict,
    password: object,
    passwords: PasswordHasher,
    changes: Changes,
) -> None:
    """Store the document as the tenant's profile of the user: the access's columns and
    values, each written only if it changed (an unchanged write keeps the version). What
    changed goes to `changes`, for the audit trail."""
    fields = {
        **user_resource.profile_fields(document),
        "external_id": document.get("externalId", ""),
        "active": document.get("active"),
        "manager_id": _manager_for_write(tenant, access.user_id, document),
    }
    updates = {name: value for name, value in fields.items() if getattr(access, name) != value}
    describe_updates(access, updates, document, changes)
    if password is not UNCHANGED:
        updates["scim_password"] = scim_password_hash(password, passwords)
        changes.secret("password")
    new_rows = user_resource.value_rows(access, document)
    current = list(UserValue.objects.filter(access=access).order_by("attribute", "position"))
    rows_changed = sorted(map(signature, current), key=repr) != sorted(
        map(signature, new_rows), key=repr
    )
    if rows_changed:
        describe_values(current, new_rows, changes)
    if updates or rows_changed:
        save_new_version(access, updates)
    if rows_changed:
        UserValue.objects.filter(access=access).delete()
        UserValue.objects.bulk_create(new_rows)
