"""SCIM writes of users: create (or link), replace, patch, and remove from a tenant.

A SCIM user in a tenant is the tenant's access to a global user. What a write may change
depends on who asks: every tenant owns its access (`externalId`, `active`); only the profile's
owner writes the global profile and the password (`kestra_iam.ownership`); administrators are
written by nobody.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DataError, IntegrityError, InternalError, ProgrammingError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils.timezone import now

from kestra_iam.audit import EVENT_INSERT, AuditEntry
from kestra_iam.compiled import CompiledInsert, insert_atomically, insert_together
from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import Group, GroupMembership, Tenant, TenantAccess, User, UserValue
from kestra_iam.ownership import is_administrator, may_write_profile, owner_tenant_subquery
from kestra_iam.text import case_insensitive_key
from kestra_iam.transactions import retry_once_on_conflict
from provisioning.models import ProvisioningIntegration
from scim import lookups
from scim import users as user_resource
from scim.conditional import check_version
from scim.exceptions import InvalidValue, Uniqueness
from scim.operations import Operation
from scim.patch import PatchApplier
from scim.schema import USER_RESOURCE
from scim.selectors import scim_user_details
from scim.services.locking import write_transaction
from scim.services.passwords import (
    UNCHANGED,
    PasswordHasher,
    encoded,
    patch_may_set_password,
    store_password,
)
from scim.services.user_access import access_of, locked_access, user_pk
from scim.services.versions import save_new_version

# Every POST inserts a user and an access: compiled once (no signals listen to either model).
USER_INSERT = CompiledInsert(User)
VALUE_INSERT = CompiledInsert(UserValue)
ACCESS_INSERT = CompiledInsert(TenantAccess)
USER_EXISTS = "A user with this userName already exists."
NAME_TAKEN = "Another user already has this userName."


@retry_once_on_conflict
def scim_user_create(
    *,
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    passwords: PasswordHasher | None = None,
    audit: AuditEntry,
) -> TenantAccess:
    """POST /Users: a new user, or a known userName linked into this tenant (same id).

    Linking gives this tenant an access with its own externalId and active; the profile and
    the password are written only if this tenant may write them (`_link_existing`). An
    administrator's userName is a conflict like any other.
    """
    passwords = passwords or PasswordHasher()
    password = document.pop("password", None)
    if password is None or _password_settable_on_create(tenant, document["userName"]):
        password_hash = encoded(password, passwords)
        access = _insert_new_user(tenant, integration, document, password_hash, audit)
        if access is not None:
            access.loaded_groups = []  # a new access is in no group yet
            return access
    access = _create_or_link(tenant, integration, document, password, passwords, audit)
    access.loaded_groups = []
    return access


def _password_settable_on_create(tenant: Tenant, user_name: str) -> bool:
    """Whether a POST that carries a password would store it: the userName is free, or its
    user is one this tenant may link and write. Read without a lock, before the password is
    hashed; the locked path decides again (and hashes then, if this read was overtaken)."""
    user = (
        User.objects.filter(user_name_key=case_insensitive_key(user_name))
        .annotate(
            owner_tenant_id=owner_tenant_subquery("pk"),
            in_tenant=Exists(TenantAccess.objects.filter(tenant=tenant, user_id=OuterRef("pk"))),
        )
        .first()
    )
    if user is None:
        return True
    if is_administrator(user) or user.in_tenant:
        return False  # a 409
    return may_write_profile(user=user, tenant=tenant, owner_tenant_id=user.owner_tenant_id)


def _insert_new_user(
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    password_hash: str,
    audit: AuditEntry,
) -> TenantAccess | None:
    """The usual POST — a userName nobody has — without looking it up first.

    The user, its values, its access and the audit event are inserted all or none: on
    PostgreSQL one round trip, which is the whole write. None if a constraint refused them (the
    userName is taken, perhaps by a concurrent request): nothing was written, and
    `_create_or_link` decides under a lock.
    """
    user, values = _new_user(tenant, document, password_hash)
    access = _new_access(tenant, integration, user, document)
    event = audit.event(resource_id=user.pk)
    try:
        insert_atomically(
            [*_user_rows(user, values), (ACCESS_INSERT, access), (EVENT_INSERT, event)]
        )
    except (IntegrityError, DataError, InternalError, ProgrammingError):
        # Refused, nothing written: the userName is taken, or a row could not be stored (the
        # audit trail, say). The careful path decides, and answers as the refusal deserves.
        return None
    access.user = user
    access.loaded_values = user_resource.value_tuples(values)
    return access


def _create_or_link(
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    password: str | None,
    passwords: PasswordHasher,
    audit: AuditEntry,
) -> TenantAccess:
    """POST of a userName that may exist: link it into this tenant, or refuse, under its lock."""
    try:
        # Not write_transaction(): a create waits only on a request for the same userName
        # (the session's lock timeout bounds that), and POST is the hot path of an initial sync.
        with transaction.atomic():
            user = _locked_user_by_name(tenant, document["userName"])
            rows = []
            if user is None:  # it was removed since _insert_new_user found it taken
                user, values = _new_user(tenant, document, encoded(password, passwords))
                rows = _user_rows(user, values)
                profile_written = True
            else:
                profile_written = _link_existing(tenant, user, document, password, passwords)
            access = _new_access(tenant, integration, user, document)
            # The user, its values and its access: one round trip on PostgreSQL.
            insert_together([*rows, (ACCESS_INSERT, access)])
            audit.record(resource_id=user.pk)
    except IntegrityError:
        # Another request created the same userName (in any case) or access concurrently.
        raise Uniqueness(USER_EXISTS) from None
    access.user = user
    if profile_written:  # the response shows what was just written: no need to read it back
        access.loaded_values = user_resource.value_tuples(user_resource.value_rows(user, document))
    return access


def _new_access(
    tenant: Tenant, integration: ProvisioningIntegration | None, user: User, document: dict
) -> TenantAccess:
    return TenantAccess(
        tenant=tenant,
        user=user,
        external_id=document.get("externalId", ""),
        active=document.get("active"),
        provisioned_by_id=integration.pk if integration else None,
    )


def _locked_user_by_name(tenant: Tenant, user_name: str) -> User | None:
    """The user with this userName (in any case), locked, with its owner and whether it is in
    the tenant already (a compiled query: every POST runs it)."""
    return lookups.locked_user_for_create(tenant.pk, case_insensitive_key(user_name))


def _new_user(tenant: Tenant, document: dict, password_hash: str) -> tuple[User, list]:
    """A new user and its multi-valued attributes, to be inserted with its access."""
    user = User(**user_resource.user_fields(document), site_managed=False)
    user.manager_id = _manager_for_write(tenant, user, document, keep_hidden=False)
    user.password = password_hash
    user.sync_canonical_keys()
    return user, user_resource.value_rows(user, document)


def _user_rows(user: User, values: list[UserValue]) -> list:
    return [(USER_INSERT, user), *((VALUE_INSERT, value) for value in values)]


def _link_existing(
    tenant: Tenant, user: User, document: dict, password: str | None, passwords: PasswordHasher
) -> bool:
    """Link a known userName into this tenant; returns whether its profile was written.

    A user nobody has access to any more is taken over: the body becomes its whole profile and
    an earlier password stops working unless the body sets one.
    """
    if is_administrator(user) or user.in_tenant:
        raise Uniqueness(USER_EXISTS)
    if not may_write_profile(user=user, tenant=tenant, owner_tenant_id=user.owner_tenant_id):
        return False
    orphan = user.owner_tenant_id is None
    _write_profile(
        user, document, _manager_for_write(tenant, user, document, keep_hidden=not orphan)
    )
    if orphan or password is not None:
        store_password(user, password, passwords)
    return True


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
        scim_user_details([access], values=True, groups=False, managers=True)
        result = applier.apply(user_resource.user_document(access), operations)
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
    """Lock, check the version, build the new document, write what this tenant may write.

    `build(access)` returns the new document and the password: UNCHANGED, None (no usable
    password) or the one to set. When the write `may_set_password`, it is first built from an
    unlocked read, so that the password is hashed only if the write is valid and this tenant
    may set it, and before any row is locked.
    """
    passwords = passwords or PasswordHasher()
    if may_set_password:
        _hash_the_password_ahead(tenant, user_id, if_match, build, passwords)
    try:
        with write_transaction():
            access = locked_access(tenant, user_id)
            check_version(user_resource.user_version(access), if_match)
            document, password = build(access)
            user = access.user
            if may_write_profile(user=user, tenant=tenant, owner_tenant_id=access.owner_tenant_id):
                _check_new_name(user, document["userName"])
                _write_profile(user, document, _manager_for_write(tenant, user, document))
                if password is not UNCHANGED:
                    store_password(user, password, passwords)
            _write_access(access, document)
            audit.record(resource_id=access.user_id)
    except IntegrityError:
        raise Uniqueness(NAME_TAKEN) from None


def _hash_the_password_ahead(
    tenant: Tenant,
    user_id: str,
    if_match: str | None,
    build: Callable[[TenantAccess], tuple[dict, object]],
    passwords: PasswordHasher,
) -> None:
    """The locked write, rehearsed on an unlocked read: the same refusals (404, 403, 412, a
    400 for an invalid PATCH) before anything is hashed, then the hash of the password the
    write will store, if it stores one."""
    access = access_of(tenant, user_id)
    check_version(user_resource.user_version(access), if_match)
    _, password = build(access)
    if isinstance(password, str) and may_write_profile(
        user=access.user, tenant=tenant, owner_tenant_id=access.owner_tenant_id
    ):
        passwords.hash(password)


@retry_once_on_conflict
def scim_user_delete(
    *, tenant: Tenant, user_id: str, if_match: str | None, audit: AuditEntry
) -> None:
    """DELETE /Users/{id}: remove the user's access to this tenant, not the user.

    Its group memberships in the tenant go with the access (foreign key cascade), and so do its
    role bindings in the tenant (a database trigger, whoever removes an access); other tenants
    keep seeing the user. If this tenant
    owned the profile, ownership passes to the tenant with the oldest remaining access.
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
        audit.record(resource_id=access.user_id)


# --- pieces -------------------------------------------------------------------------------------


def _check_new_name(user: User, user_name: str) -> None:
    new_key = case_insensitive_key(user_name)
    if new_key != user.user_name_key and (
        User.objects.filter(user_name_key=new_key).exclude(pk=user.pk).exists()
    ):
        raise Uniqueness(NAME_TAKEN)


def _manager_for_write(tenant: Tenant, user: User, document: dict, *, keep_hidden: bool = True):
    """The manager a profile write stores: the one the document names, which must be a user
    of this tenant; else none — except that a manager this tenant cannot see (one without
    access to it) is left as it is when `keep_hidden`, since the tenant can neither see nor
    address it."""
    manager_id = user_resource.manager_id(document)
    if manager_id is None:
        if keep_hidden and user.manager_id and not _has_access(tenant, user.manager_id):
            return user.manager_id
        return None
    pk = parse_uuid(manager_id)
    if pk is not None and pk == user.pk:
        raise InvalidValue("A user cannot be their own manager.")
    if pk is None or not _has_access(tenant, pk):
        raise InvalidValue(f"manager {manager_id!r} is not the id of a user of this tenant.")
    return pk


def _has_access(tenant: Tenant, user_pk) -> bool:
    return TenantAccess.objects.for_tenant(tenant).filter(user_id=user_pk).exists()


def _write_profile(user: User, document: dict, manager_id) -> bool:
    """Store the document's global profile on an existing user; returns whether it changed."""
    fields = {**user_resource.user_fields(document), "manager_id": manager_id}
    updates = {name: value for name, value in fields.items() if getattr(user, name) != value}
    if "user_name" in updates:
        updates["user_name_key"] = case_insensitive_key(updates["user_name"])
    new_rows = user_resource.value_rows(user, document)
    current = UserValue.objects.filter(user=user).order_by("attribute", "position")
    rows_changed = sorted(map(_signature, current), key=repr) != sorted(
        map(_signature, new_rows), key=repr
    )
    if updates or rows_changed:
        save_new_version(user, updates)
    if rows_changed:
        UserValue.objects.filter(user=user).delete()
        UserValue.objects.bulk_create(new_rows)
    return bool(updates or rows_changed)


def _signature(row: UserValue) -> tuple:
    return (row.attribute, row.position, row.value, row.type, row.primary, row.display, row.extra)


def _write_access(access: TenantAccess, document: dict) -> None:
    """What the tenant's identity provider owns on its access: externalId and active."""
    external_id = document.get("externalId", "")
    active = document.get("active")
    if (access.external_id, access.active) != (external_id, active):
        TenantAccess.objects.filter(pk=access.pk).update(
            external_id=external_id, active=active, version=F("version") + 1, updated_at=now()
        )
