"""The reads identity providers make all day, as compiled queries (`kestra_iam.db.compiled`).

Microsoft Entra ID matches every user it provisions with `userName eq "…"` (or
`externalId eq "…"`) and reads users back by id; each such request used to spend more time in
the ORM's SQL compiler than in PostgreSQL. Here those shapes are compiled once per process. The
SQL is the ORM's own, and shaped so the unique indexes are the only sensible plans whatever the
statistics say: a userName is resolved to its user through the unique key first, then to the
access through (tenant, user).

Anything else — other filters, sorting, later pages — goes through `scim.selectors` as before.
"""

from __future__ import annotations

import functools
import json
import uuid

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.expressions import RawSQL

from kestra_iam.db.compiled import CompiledQuery
from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import Group, GroupMembership, TenantAccess, User, UserValue
from kestra_iam.text import case_insensitive_key
from scim.conf import SCIMSettings
from scim.expressions import Comparison, ExpressionError, parse_filter
from scim.schema import USER_URN
from scim.users import UserRead

# Everything rendering needs; never a password hash.
ACCESS_FIELDS = [
    f.attname for f in TenantAccess._meta.concrete_fields if f.attname != "scim_password"
]
USER_FIELDS = [
    f.attname for f in User._meta.concrete_fields if f.attname not in ("password", "last_login")
]
VALUE_COLUMNS = ("attribute", "value", "type", "primary", "display", "extra")


def _tenant_field():
    return TenantAccess._meta.get_field("tenant")


def _matching(attribute: str, marker):
    """The condition on a tenant's accesses for `<attribute> eq <marker>`."""
    if attribute == "username":
        return {"user_id": Subquery(User.objects.filter(user_name_key=marker).values("pk")[:1])}
    return {"user_id": marker}


FIELD_OF = {
    "username": lambda: User._meta.get_field("user_name_key"),
    "id": lambda: TenantAccess._meta.get_field("user"),
}
HOT_ATTRIBUTES = ("username", "externalid", "id")


# On PostgreSQL the page also carries each user's multi-valued attributes and groups, as JSON
# built by correlated sub-queries on their indexes: one round trip instead of three.
VALUES_JSON = """(SELECT json_agg(json_build_array(v.attribute, v.value, v.type, v."primary",
    v.display, v.extra) ORDER BY v.attribute, v.position)
    FROM kestra_iam_uservalue v WHERE v.access_id = kestra_iam_tenantaccess.id)"""
GROUPS_JSON = """(SELECT json_agg(json_build_array(g.id, g.display_name)
    ORDER BY g.display_name_key)
    FROM kestra_iam_groupmembership m JOIN kestra_iam_group g ON g.id = m.group_id
    WHERE m.access_id = kestra_iam_tenantaccess.id)"""


def _page_of(queryset, count: int):
    columns = [*ACCESS_FIELDS, *(f"user__{name}" for name in USER_FIELDS)]
    if connection.vendor == "postgresql":
        # Fixed SQL of this module, no value from a request in it.
        queryset = queryset.annotate(
            values_json=RawSQL(VALUES_JSON, ()),  # noqa: S611
            groups_json=RawSQL(GROUPS_JSON, ()),  # noqa: S611
        )
        columns += ["values_json", "groups_json"]
    return queryset.order_by("pk").values_list(*columns)[:count]


@functools.cache
def _access_page(attribute: str, count: int) -> CompiledQuery:
    """The first page of a tenant's accesses whose `attribute` equals a value, user included."""
    return CompiledQuery(
        lambda tenant, value: _page_of(
            TenantAccess.objects.filter(tenant_id=tenant, **_matching(attribute, value)), count
        ),
        [_tenant_field(), FIELD_OF[attribute]()],
    )


def hot_attribute(filter_text: str | None, settings: SCIMSettings) -> tuple[str, object] | None:
    """(attribute, value) when a filter is one `eq` on userName, externalId or id; else None."""
    if filter_text is None:
        return None
    try:
        expr = parse_filter(filter_text, settings.filter_limits)
    except ExpressionError:
        return None
    if not (
        isinstance(expr, Comparison)
        and expr.op == "eq"
        and expr.path.uri in (None, USER_URN)
        and expr.path.sub is None
        and isinstance(expr.value, str)
        and expr.path.attr.lower() in HOT_ATTRIBUTES
    ):
        return None
    attribute = expr.path.attr.lower()
    if attribute == "username":
        return attribute, case_insensitive_key(expr.value)
    if attribute == "id":
        return attribute, parse_uuid(expr.value)
    return attribute, expr.value


def users_where(tenant_id: str, attribute: str, value, *, count: int) -> list[UserRead]:
    """The first `count` users of a tenant whose `attribute` equals `value`: each access with
    its user (and, on PostgreSQL, its values and groups)."""
    if value is None:  # an id that is not a UUID: nobody
        return []
    if attribute == "externalid":
        # An externalId names accesses, not users: find them by (tenant, externalId) first,
        # then read each by (tenant, user) — the join is then bound to one user, whatever the
        # planner's statistics say.
        user_ids = [row[0] for row in _user_ids_by_external_id(count).rows(tenant_id, value)]
        return [
            read for user_id in user_ids for read in users_where(tenant_id, "id", user_id, count=1)
        ]
    rows = _access_page(attribute, count).rows(tenant_id, value)
    return [_user_from_row(row) for row in rows]


@functools.cache
def _user_ids_by_external_id(count: int) -> CompiledQuery:
    return CompiledQuery(
        lambda tenant, value: (
            TenantAccess.objects.filter(tenant_id=tenant, external_id=value)
            .order_by("pk")
            .values_list("user_id")[:count]
        ),
        [_tenant_field(), TenantAccess._meta.get_field("external_id")],
    )


def _user_from_row(row: tuple) -> UserRead:
    split, end = len(ACCESS_FIELDS), len(ACCESS_FIELDS) + len(USER_FIELDS)
    access = TenantAccess.from_db(DEFAULT_DB_ALIAS, ACCESS_FIELDS, row[:split])
    access.user = User.from_db(DEFAULT_DB_ALIAS, USER_FIELDS, row[split:end])
    if len(row) == end:
        return UserRead(access)
    # The details came along (PostgreSQL).
    values = [tuple(v) for v in _json(row[end])]
    groups = [(uuid.UUID(g), name) for g, name in _json(row[end + 1])]
    return UserRead(access, values=values, groups=groups)


def _json(value) -> list:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value


@functools.cache
def _values_of_access() -> CompiledQuery:
    return CompiledQuery(
        lambda access_id: (
            UserValue.objects.filter(access_id=access_id)
            .order_by("attribute", "position")
            .values_list(*VALUE_COLUMNS)
        ),
        [UserValue._meta.get_field("access")],
    )


def values_of(access_id: int) -> list[tuple]:
    """The multi-valued attributes of one tenant's profile of a user, as
    `scim.selectors.scim_user_details` attaches them."""
    return _values_of_access().rows(access_id)


@functools.cache
def _groups_of_access() -> CompiledQuery:
    return CompiledQuery(
        lambda access_id: (
            GroupMembership.objects.filter(access_id=access_id)
            .order_by("group__display_name_key")
            .values_list("group_id", "group__display_name")
        ),
        [GroupMembership._meta.get_field("access")],
    )


def groups_of(access_id: int) -> list[tuple]:
    """(group id, displayName) of one access's groups."""
    return _groups_of_access().rows(access_id)


@functools.cache
def _user_for_create() -> CompiledQuery:
    def build(tenant, key):
        return (
            User.objects.select_for_update()
            .annotate(
                in_tenant=Exists(
                    TenantAccess.objects.filter(tenant_id=tenant, user_id=OuterRef("pk"))
                ),
            )
            .filter(user_name_key=key)
            .values_list(*USER_FIELDS, "in_tenant")
        )

    return CompiledQuery(build, [_tenant_field(), User._meta.get_field("user_name_key")])


def locked_user_for_create(tenant_id: str, key: str) -> User | None:
    """The user whose userName has this canonical key, locked for the caller's transaction, and
    whether `tenant_id` has access to it (`in_tenant`); None if there is none."""
    rows = _user_for_create().rows(tenant_id, key)
    if not rows:
        return None
    row = rows[0]
    user = User.from_db(DEFAULT_DB_ALIAS, USER_FIELDS, row[: len(USER_FIELDS)])
    user.in_tenant = bool(row[len(USER_FIELDS)])
    return user


GROUP_FIELDS = [f.attname for f in Group._meta.concrete_fields]


@functools.cache
def _locked_group(nowait: bool) -> CompiledQuery:
    def build(tenant, pk):
        return (
            Group.objects.for_tenant(tenant)
            .filter(pk=pk)
            .select_for_update(nowait=nowait)
            .order_by()
            .values_list(*GROUP_FIELDS)
        )

    return CompiledQuery(build, [Group._meta.get_field("tenant"), Group._meta.pk])


def locked_group(tenant_id: str, pk: uuid.UUID, *, nowait: bool = False) -> Group | None:
    """The tenant's group with this id, locked for the caller's transaction (every write of a
    group starts here); None if the tenant has no such group."""
    rows = _locked_group(nowait).rows(tenant_id, pk)
    return Group.from_db(DEFAULT_DB_ALIAS, GROUP_FIELDS, rows[0]) if rows else None
