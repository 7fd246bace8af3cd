"""Reading what decides access, straight from the database: who a subject is, and its grants.

Nothing here is cached between calls, so a decision always reads the committed state — a
binding made, a membership removed, an access disabled by SCIM a moment ago, in this process
or any other — with no cache to invalidate. What keeps that cheap: subjects are resolved in one
query, and all grants of every subject of a batch arrive in one more, a UNION of the four ways
a role reaches a subject (its own bindings, its groups' bindings, the tenant's default role,
a service account's bindings), each filtered on indexed columns. When the namespaces asked
about are known, only bindings whose scope could cover one of them are read (`''` and each
ancestor, an exact-match list), so a user in fifty groups costs the rows that matter, not all
of its bindings. Only the parsing of a role's stored permissions is remembered, keyed by their
text, which cannot go stale.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import CharField, Exists, IntegerField, OuterRef, Q, TextField, UUIDField
from django.db.models import Value as V
from django.db.models.functions import Cast

from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import Binding, GroupMembership, ServiceAccount, Tenant, TenantAccess, User
from kestra_iam.namespaces import scopes_covering
from kestra_iam.permissions import Permission
from kestra_iam.rbac.grants import Grant, Source, permissions_of
from kestra_iam.text import case_insensitive_key


class SubjectKind(StrEnum):
    USER = "user"
    SERVICE_ACCOUNT = "service_account"


class AccessState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # SCIM active=false in this tenant
    NONE = "none"  # no access to this tenant (never provisioned, or removed)


@dataclass(frozen=True)
class SubjectRef:
    """A subject as a caller names it: a user by id or userName, a service account by name."""

    kind: str  # "user_id", "user_name" or "service_account"
    value: str

    KINDS = ("user_id", "user_name", "service_account")

    @property
    def label(self) -> str:
        return "service account" if self.kind == "service_account" else "user"

    def __str__(self) -> str:
        return f"{self.label} {self.value}"


@dataclass(frozen=True)
class Subject:
    """A resolved subject: who it is, and (for a user) the state of its access to the tenant."""

    kind: SubjectKind
    pk: uuid.UUID | int
    name: str
    access: AccessState = AccessState.ACTIVE


def resolve_subjects(tenant: Tenant, refs: Iterable[SubjectRef]) -> dict[SubjectRef, Subject]:
    """The subjects the references name, in at most two queries; an unknown one is absent."""
    refs = set(refs)
    found: dict[SubjectRef, Subject] = {}
    ids = {ref: parse_uuid(ref.value) for ref in refs if ref.kind == "user_id"}
    keys = {ref: case_insensitive_key(ref.value) for ref in refs if ref.kind == "user_name"}
    if ids or keys:
        access = TenantAccess.objects.filter(tenant_id=tenant.pk, user_id=OuterRef("pk"))
        rows = (
            User.objects.filter(
                Q(pk__in=[pk for pk in ids.values() if pk]) | Q(user_name_key__in=keys.values())
            )
            .annotate(
                has_access=Exists(access),
                disabled=Exists(access.filter(active=False)),
            )
            .values_list("pk", "user_name", "user_name_key", "has_access", "disabled")
        )
        by_id, by_key = {}, {}
        for pk, name, key, has_access, disabled in rows:
            state = (
                AccessState.NONE
                if not has_access
                else AccessState.DISABLED
                if disabled
                else AccessState.ACTIVE
            )
            subject = Subject(SubjectKind.USER, pk, name, state)
            by_id[pk], by_key[key] = subject, subject
        found.update({ref: by_id[pk] for ref, pk in ids.items() if pk in by_id})
        found.update({ref: by_key[key] for ref, key in keys.items() if key in by_key})
    names = {ref.value for ref in refs if ref.kind == "service_account"}
    if names:
        accounts = ServiceAccount.objects.filter(tenant_id=tenant.pk, name__in=names)
        by_name = {name: pk for pk, name in accounts.values_list("pk", "name")}
        found.update(
            {
                ref: Subject(SubjectKind.SERVICE_ACCOUNT, by_name[ref.value], ref.value)
                for ref in refs
                if ref.kind == "service_account" and ref.value in by_name
            }
        )
    return found


# The columns every part of the grants UNION returns, in this order.
COLUMNS = (
    "source",
    "user_id",
    "account_id",
    "binding_id",
    "scope",
    "role_id",
    "role_name",
    "role_permissions",
    "group_id",
    "group_name",
)


def load_grants(
    tenant: Tenant,
    subjects: Iterable[Subject],
    *,
    namespaces: Iterable[str] | None = None,
    as_if_active: bool = False,
) -> dict[Subject, list[Grant]]:
    """Every grant of each subject in the tenant, in one query. With `namespaces`, only the
    grants whose scope covers one of them (or the whole tenant). A user without active access
    has no grants, whatever its bindings say — unless `as_if_active`, which the admin uses to
    show, greyed, what a disabled user would hold again if re-enabled."""
    subjects = list(subjects)
    grants: dict[Subject, list[Grant]] = {subject: [] for subject in subjects}
    users = {s.pk: s for s in subjects if s.kind is SubjectKind.USER}
    accounts = {s.pk: s for s in subjects if s.kind is SubjectKind.SERVICE_ACCOUNT}
    parts = []
    scopes = None
    if namespaces is not None:
        scopes = sorted({scope for ns in namespaces for scope in scopes_covering(ns)})
    if users:
        parts += _user_parts(tenant.pk, list(users), scopes, as_if_active=as_if_active)
    if accounts:
        parts.append(_account_part(tenant.pk, list(accounts), scopes))
    if not parts:
        return grants
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    for row in query:
        values = dict(zip(COLUMNS, row, strict=True))
        subject = users.get(values["user_id"]) if values["user_id"] else None
        subject = subject or accounts[values["account_id"]]
        grants[subject].append(_grant(values))
    return grants


def _grant(values: dict) -> Grant:
    return Grant(
        source=Source(values["source"]),
        role_id=values["role_id"],
        role_name=values["role_name"],
        permissions=role_permissions(values["role_permissions"]),
        namespace=values["scope"] or "",
        binding_id=values["binding_id"],
        group_id=values["group_id"],
        group_name=values["group_name"] or "",
    )


@functools.lru_cache(maxsize=4096)
def role_permissions(stored: str) -> frozenset[Permission]:
    """A role's permissions from their stored JSON text (the same text, the same answer)."""
    try:
        return permissions_of(json.loads(stored))
    except (TypeError, ValueError, AttributeError):
        return frozenset()


def _access(tenant_id: str, user_ref: str, *, as_if_active: bool):
    accesses = TenantAccess.objects.filter(tenant_id=tenant_id, user_id=OuterRef(user_ref))
    return Exists(accesses if as_if_active else accesses.exclude(active=False))


def _null(field):
    """A typed NULL: PostgreSQL resolves a UNION's column types branch by branch, and an
    untyped NULL in the first ones becomes text, which an integer or uuid then cannot join."""
    return Cast(V(None), field)


def _role_columns(prefix: str) -> dict:
    return {
        "g_role_id": Cast(f"{prefix}role_id", IntegerField()),
        "g_role_name": Cast(f"{prefix}role__name", CharField()),
        "g_role_permissions": Cast(f"{prefix}role__permissions", TextField()),
    }


def _user_parts(
    tenant_id: str, user_ids: list, scopes: list[str] | None, *, as_if_active: bool
) -> list:
    active = Q() if as_if_active else ~Q(active=False)
    access_active = Q() if as_if_active else ~Q(access__active=False)
    in_scope = {} if scopes is None else {"namespace__in": scopes}
    direct = (
        Binding.objects.filter(
            tenant_id=tenant_id, user_id__in=user_ids, role__tenant_id=tenant_id, **in_scope
        )
        .filter(_access(tenant_id, "user_id", as_if_active=as_if_active))
        .annotate(
            g_source=V(Source.DIRECT.value, CharField()),
            g_user_id=Cast("user_id", UUIDField()),
            g_account_id=_null(IntegerField()),
            g_binding_id=Cast("pk", IntegerField()),
            g_scope=Cast("namespace", CharField()),
            **_role_columns(""),
            g_group_id=_null(UUIDField()),
            g_group_name=V("", CharField()),
        )
    )
    group_scope = {} if scopes is None else {"group__bindings__namespace__in": scopes}
    through_groups = (
        GroupMembership.objects.filter(
            access__tenant_id=tenant_id,
            access__user_id__in=user_ids,
            group__tenant_id=tenant_id,
            group__bindings__tenant_id=tenant_id,
            group__bindings__role__tenant_id=tenant_id,
            **group_scope,
        )
        .filter(access_active)
        .annotate(
            g_source=V(Source.GROUP.value, CharField()),
            g_user_id=Cast("access__user_id", UUIDField()),
            g_account_id=_null(IntegerField()),
            g_binding_id=Cast("group__bindings__pk", IntegerField()),
            g_scope=Cast("group__bindings__namespace", CharField()),
            **_role_columns("group__bindings__"),
            g_group_id=Cast("group_id", UUIDField()),
            g_group_name=Cast("group__display_name", CharField()),
        )
    )
    default_role = (
        TenantAccess.objects.filter(
            tenant_id=tenant_id,
            user_id__in=user_ids,
            tenant__default_role__isnull=False,
            tenant__default_role__tenant_id=tenant_id,
        )
        .filter(active)
        .annotate(
            g_source=V(Source.DEFAULT_ROLE.value, CharField()),
            g_user_id=Cast("user_id", UUIDField()),
            g_account_id=_null(IntegerField()),
            g_binding_id=_null(IntegerField()),
            g_scope=V("", CharField()),
            **_role_columns("tenant__default_"),
            g_group_id=_null(UUIDField()),
            g_group_name=V("", CharField()),
        )
    )
    return [_columns(direct), _columns(through_groups), _columns(default_role)]


def _account_part(tenant_id: str, account_ids: list, scopes: list[str] | None):
    in_scope = {} if scopes is None else {"namespace__in": scopes}
    return _columns(
        Binding.objects.filter(
            tenant_id=tenant_id,
            service_account_id__in=account_ids,
            role__tenant_id=tenant_id,
            **in_scope,
        ).annotate(
            g_source=V(Source.DIRECT.value, CharField()),
            g_user_id=_null(UUIDField()),
            g_account_id=Cast("service_account_id", IntegerField()),
            g_binding_id=Cast("pk", IntegerField()),
            g_scope=Cast("namespace", CharField()),
            **_role_columns(""),
            g_group_id=_null(UUIDField()),
            g_group_name=V("", CharField()),
        )
    )


def _columns(queryset):
    return queryset.order_by().values_list(*(f"g_{name}" for name in COLUMNS))
