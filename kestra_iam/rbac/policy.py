"""Reading what decides access, straight from the database: who a subject is, and its grants.

Nothing here is cached between calls, so a decision always reads the committed state — a
binding made, a membership removed, an access disabled by SCIM a moment ago, in this process
or any other — with no cache to invalidate. What keeps that cheap: subjects are resolved in one
query, and all grants of every subject of a batch arrive in one more, a UNION of the four ways
a role reaches a subject (its own bindings, its groups' bindings, the tenant's default role,
a service account's bindings), each filtered on indexed columns. When the namespaces asked
about each subject are known, only that subject's bindings whose scope could cover one of them
are read (`''` and each ancestor, an exact-match list): a user in fifty groups costs the rows
that decide its own checks, not all of its bindings, nor those covering another subject's
checks in the same batch. Only the parsing of a role's stored permissions is remembered, keyed
by their text, which cannot go stale.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.db import connection
from django.db.models import (
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    TextField,
    UUIDField,
)
from django.db.models import Value as V
from django.db.models.functions import Cast, Concat

from kestra_iam.db.any_of import AnyOf, ListOf
from kestra_iam.db.compiled import CompiledQuery
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
        rows = _users_query().rows(
            tenant.pk, [pk for pk in ids.values() if pk], list(keys.values())
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


@functools.cache
def _users_query() -> CompiledQuery:
    """Users by id or userName key, with the state of their access to the tenant."""

    def build(tenant_id, ids, keys):
        access = TenantAccess.objects.filter(tenant_id=tenant_id, user_id=OuterRef("pk"))
        return (
            User.objects.filter(Q(AnyOf(F("pk"), ids)) | Q(AnyOf(F("user_name_key"), keys)))
            .annotate(has_access=Exists(access), disabled=Exists(access.filter(active=False)))
            .values_list("pk", "user_name", "user_name_key", "has_access", "disabled")
        )

    key = User._meta.get_field("user_name_key")
    return CompiledQuery(build, [Tenant._meta.pk, ListOf(User._meta.pk), ListOf(key)])


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
    namespaces: Mapping[Subject, Iterable[str]] | None = None,
    as_if_active: bool = False,
) -> dict[Subject, list[Grant]]:
    """Every grant of each subject in the tenant, in one query. With `namespaces` (the
    namespaces asked about each subject), only the grants whose scope covers one of that
    subject's namespaces (or the whole tenant). A user without active access has no grants,
    whatever its bindings say — unless `as_if_active`, which the admin uses to show, greyed,
    what a disabled user would hold again if re-enabled."""
    subjects = list(subjects)
    grants: dict[Subject, list[Grant]] = {subject: [] for subject in subjects}
    users = {s.pk: s for s in subjects if s.kind is SubjectKind.USER}
    accounts = {s.pk: s for s in subjects if s.kind is SubjectKind.SERVICE_ACCOUNT}
    if not subjects:
        return grants
    scoped = namespaces is not None
    values: list = [tenant.pk]
    if scoped:
        values.append(sorted({s for asked in namespaces.values() for s in _scopes_of(asked)}))
    for model, pks in ((User, users), (ServiceAccount, accounts)):
        if pks:
            values.append(list(pks))
            if scoped:
                values.append(_scope_keys(model, pks, namespaces))
    query = _grants_query(bool(users), bool(accounts), scoped, as_if_active)
    for row in query.rows(*values):
        values = dict(zip(COLUMNS, row, strict=True))
        subject = users.get(values["user_id"]) if values["user_id"] else None
        subject = subject or accounts[values["account_id"]]
        grants[subject].append(_grant(values))
    return grants


def _scope_keys(model, subjects: Mapping, namespaces: Mapping) -> list[str]:
    """`<pk>/<scope>` for each subject and each scope whose bindings can decide one of the
    namespaces asked about it (`''` and each ancestor: `a.b` → `a.b`, `a`, the whole tenant).

    One text key per pair lets the query keep only each subject's own scopes, not every scope
    of the batch, in a single list comparison. A namespace never holds a `/`; the pk is written
    as the database writes it as text (a native uuid on PostgreSQL, 32 hex digits on SQLite)."""
    as_text = model._meta.pk.get_db_prep_value
    return [
        f"{as_text(pk, connection)}/{scope}"
        for pk, subject in subjects.items()
        for scope in _scopes_of(namespaces[subject])
    ]


def _scopes_of(namespaces: Iterable[str]) -> set[str]:
    return {scope for namespace in namespaces for scope in scopes_covering(namespace)}


@functools.cache
def _grants_query(users: bool, accounts: bool, scoped: bool, as_if_active: bool) -> CompiledQuery:
    """The UNION for one shape of question, compiled once per process: the subjects and their
    scope keys are lists passed as one parameter each (`AnyOf`), so any batch size runs the
    same statement."""
    fields = [Tenant._meta.pk, *([ListOf(Binding._meta.get_field("namespace"))] if scoped else [])]
    for model, wanted in ((User, users), (ServiceAccount, accounts)):
        if wanted:
            fields += [ListOf(model._meta.pk), *([ListOf(TextField())] if scoped else [])]

    def build(tenant_id, *lists):
        lists = list(lists)
        scopes = lists.pop(0) if scoped else None
        parts = []
        if users:
            pks, keys = lists.pop(0), lists.pop(0) if scoped else None
            parts += _user_parts(tenant_id, pks, (scopes, keys), as_if_active=as_if_active)
        if accounts:
            pks, keys = lists.pop(0), lists.pop(0) if scoped else None
            parts.append(_account_part(tenant_id, pks, (scopes, keys)))
        return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]

    return CompiledQuery(build, fields)


def _of_subjects(queryset, subject: str, namespace: str, pks, asked: tuple):
    """The rows of these subjects (`subject` holds the pk) and, when `asked` holds the batch's
    scopes and the scope keys, only those whose `namespace` is one of the scopes of that row's
    own subject. The pk list and the batch's scopes stay conditions of their own: the subject
    index drives the query, and a binding in no scope of the batch is dropped before any key
    is built.

    The namespace is compared through aliases: an alias reuses the query's join to the
    bindings, where a filter() of its own on a multi-valued relation would join them again."""
    queryset = queryset.filter(AnyOf(F(subject), pks))
    scopes, keys = asked
    if keys is None:
        return queryset
    return queryset.alias(
        asked_scope=F(namespace),
        asked_key=Concat(Cast(subject, TextField()), V("/"), namespace, output_field=TextField()),
    ).filter(AnyOf(F("asked_scope"), scopes), AnyOf(F("asked_key"), keys))


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


def _user_parts(tenant_id: str, user_ids, asked: tuple, *, as_if_active: bool) -> list:
    active = Q() if as_if_active else ~Q(active=False)
    access_active = Q() if as_if_active else ~Q(access__active=False)
    direct = (
        _of_subjects(
            Binding.objects.filter(tenant_id=tenant_id, role__tenant_id=tenant_id),
            "user_id",
            "namespace",
            user_ids,
            asked,
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
    through_groups = (
        _of_subjects(
            GroupMembership.objects.filter(
                access__tenant_id=tenant_id,
                group__tenant_id=tenant_id,
                group__bindings__tenant_id=tenant_id,
                group__bindings__role__tenant_id=tenant_id,
            ),
            "access__user_id",
            "group__bindings__namespace",
            user_ids,
            asked,
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
            AnyOf(F("user_id"), user_ids),
            tenant_id=tenant_id,
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


def _account_part(tenant_id: str, account_ids, asked: tuple):
    return _columns(
        _of_subjects(
            Binding.objects.filter(tenant_id=tenant_id, role__tenant_id=tenant_id),
            "service_account_id",
            "namespace",
            account_ids,
            asked,
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
