"""SCIM reads, all of them: list queries (filter, sort, page), single resources and what
rendering needs besides (multi-valued attributes, memberships, visible managers, members),
always scoped to one tenant."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import Group, GroupMembership, Tenant, TenantAccess, User, UserValue
from scim import groups as group_resource
from scim import lookups
from scim import users as user_resource
from scim.conf import SCIMSettings
from scim.exceptions import InvalidValue
from scim.expressions import ExpressionError, parse_attribute_list
from scim.filters import FilterMap, compile_filter
from scim.schema import GROUP_RESOURCE, USER_RESOURCE, ResourceType, resolve
from scim.users import UserRead

MAX_START_INDEX = 2**31 - 1


@dataclass(frozen=True)
class ListQuery:
    """A validated list request (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/count."""

    filter: str | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    start_index: int = 1
    count: int | None = None


@dataclass(frozen=True)
class Page:
    total: int
    start_index: int
    items: list


def parse_list_query(params: dict, settings: SCIMSettings) -> ListQuery:
    """Read the list parameters from a query string or a SearchRequest body.

    startIndex below 1 counts as 1 and a negative count as 0 (RFC 7644 §3.4.2.4); counts above
    the advertised maximum are clamped. Values that are not integers are refused.
    """
    start = _integer(params.get("startIndex"), "startIndex")
    if start is not None and start > MAX_START_INDEX:
        # Beyond any result set this service can hold, and beyond what SQLite's OFFSET takes.
        raise InvalidValue(f"startIndex must be at most {MAX_START_INDEX}.")
    count = _integer(params.get("count"), "count")
    sort_order = params.get("sortOrder")
    if sort_order is not None and str(sort_order).lower() not in ("ascending", "descending"):
        raise InvalidValue("sortOrder must be ascending or descending.")
    filter_text = params.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValue("filter must be a string.")
    sort_by = params.get("sortBy")
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValue("sortBy must be a string.")
    return ListQuery(
        filter=filter_text,
        sort_by=sort_by or None,
        sort_order=str(sort_order).lower() if sort_order else None,
        start_index=max(start if start is not None else 1, 1),
        count=(
            settings.default_count if count is None else min(max(count, 0), settings.max_results)
        ),
    )


def _integer(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{name} must be an integer.")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidValue(f"{name} must be an integer, got {value!r}.") from None


def _ordering(
    query: ListQuery, resource: ResourceType, sort_fields: dict[str, str], default: tuple[str, ...]
) -> list[str]:
    if query.sort_by is None:
        return list(default)
    field = None
    try:
        (path,) = parse_attribute_list(query.sort_by)
    except (ExpressionError, ValueError):
        path = None
    resolved = resolve(resource, path.uri, path.attr, path.sub) if path else None
    if resolved is not None:
        field = sort_fields.get(resolved.dotted.lower())
    if field is None:
        raise InvalidValue(f"sortBy {query.sort_by!r} is not an attribute this service sorts on.")
    prefix = "-" if query.sort_order == "descending" else ""
    # The primary key breaks ties, so pages stay stable whatever the sort attribute.
    return [f"{prefix}{field}", f"{prefix}pk"]


def _page(queryset: QuerySet, query: ListQuery) -> Page:
    offset = query.start_index - 1
    items = list(queryset[offset : offset + query.count]) if query.count else []
    if items and len(items) < query.count:
        total = offset + len(items)  # a short, non-empty page is the last: no COUNT needed
    elif offset == 0 and query.count and not items:
        total = 0
    else:
        total = queryset.order_by().count()
    return Page(total=total, start_index=query.start_index, items=items)


def _filtered(queryset: QuerySet, query: ListQuery, filter_map: FilterMap, settings: SCIMSettings):
    if query.filter is not None:
        queryset = queryset.filter(compile_filter(query.filter, filter_map, settings.filter_limits))
    return queryset


# --- users --------------------------------------------------------------------------------------


def scim_user_queryset(tenant: Tenant) -> QuerySet[TenantAccess]:
    """The tenant's users: one TenantAccess row each.

    The global users are read afterwards, by primary key (`_attach_users`), not joined: on
    tables the planner has no statistics for, a join of accesses and users can become a scan
    of every user for every access; a page of accesses and a lookup of its users by key cannot.
    """
    return TenantAccess.objects.for_tenant(tenant)


def _attach_users(accesses: list[TenantAccess]) -> None:
    users = User.objects.in_bulk([access.user_id for access in accesses])
    for access in accesses:
        access.user = users[access.user_id]


def scim_user_details(
    reads: list[UserRead], *, values: bool, groups: bool, managers: bool = False
) -> None:
    """Read, in one query each, what rendering needs beyond the rows themselves.

    Plain tuples rather than model instances: a page of 100 users is three queries and no
    per-row object construction. Details already read (a freshly created user's, or those a
    compiled lookup brought along) are kept, and what is not wanted is left empty, without a
    query.
    """
    for read in reads:
        if not values:
            read.values = []
        if not groups:
            read.groups = []
        read.manager = None
    _load_values([read for read in reads if read.values is None])
    _load_groups([read for read in reads if read.groups is None])
    if managers:
        _load_managers(reads)


VALUE_FIELDS = ("access_id", "attribute", "value", "type", "primary", "display", "extra")


def _load_values(reads: list[UserRead]) -> None:
    def rows(access_ids):
        values = (
            UserValue.objects.filter(access_id__in=access_ids)
            .order_by("access_id", "attribute", "position")
            .values_list(*VALUE_FIELDS)
        )
        return ((row[0], row[1:]) for row in values)

    _attach(reads, "values", lookups.values_of, rows)


def _load_groups(reads: list[UserRead]) -> None:
    def rows(access_ids):
        memberships = (
            GroupMembership.objects.filter(access_id__in=access_ids)
            .order_by("group__display_name_key")
            .values_list("access_id", "group_id", "group__display_name")
        )
        return ((access_id, (group_id, name)) for access_id, group_id, name in memberships)

    _attach(reads, "groups", lookups.groups_of, rows)


def _attach(reads: list[UserRead], name: str, one, many) -> None:
    """Give each read its rows as `name`: for a single user (read or matched) the compiled
    `one(access id)`, else one query for all (`many(access ids)` yields (access id, row) in
    order)."""
    if len(reads) == 1:
        setattr(reads[0], name, one(reads[0].access.pk))
        return
    by_access: dict[int, list] = {read.access.pk: [] for read in reads}
    if by_access:
        for access_id, row in many(list(by_access)):
            by_access[access_id].append(row)
    for read in reads:
        setattr(read, name, by_access[read.access.pk])


def _load_managers(reads: list[UserRead]) -> None:
    """Each manager as (user id, the name this tenant knows them by). A manager is another
    access of the same tenant, so it is read through the tenant like everything else."""
    manager_ids = {read.access.manager_id for read in reads if read.access.manager_id}
    if not manager_ids:
        return
    managers = {
        pk: (user_id, display or user_name)
        for pk, user_id, display, user_name in TenantAccess.objects.for_tenant(
            reads[0].access.tenant_id
        )
        .filter(pk__in=manager_ids)
        .values_list("pk", "user_id", "display_name", "user__user_name")
    }
    for read in reads:
        read.manager = managers.get(read.access.manager_id)


def scim_user_list(
    *,
    tenant: Tenant,
    query: ListQuery,
    settings: SCIMSettings,
    values: bool,
    groups: bool,
    managers: bool = False,
) -> Page:
    page = _hot_lookup(tenant, query, settings)
    if page is None:
        page = _user_page(tenant, query, settings)
    scim_user_details(page.items, values=values, groups=groups, managers=managers)
    return page


def _hot_lookup(tenant: Tenant, query: ListQuery, settings: SCIMSettings) -> Page | None:
    """An identity provider's match (`userName eq`, `externalId eq`, `id eq`, first page, default
    order) through a compiled query; None for any other list query."""
    hot = lookups.hot_attribute(query.filter, settings)
    if hot is None or query.sort_by or query.start_index != 1 or not query.count:
        return None
    items = lookups.users_where(_tenant_id(tenant), *hot, count=query.count)
    if len(items) == query.count:
        return None  # a full page: its total needs a COUNT, which the general path makes
    return Page(total=len(items), start_index=1, items=items)


def _tenant_id(tenant: Tenant | str) -> str:
    return tenant if isinstance(tenant, str) else tenant.pk


def _user_page(tenant: Tenant, query: ListQuery, settings: SCIMSettings) -> Page:
    queryset = _filtered(scim_user_queryset(tenant), query, user_resource.FILTER_MAP, settings)
    ordering = _ordering(
        query, USER_RESOURCE, user_resource.SORT_FIELDS, user_resource.DEFAULT_ORDER
    )
    if any(field.lstrip("-") == user_resource.LAST_MODIFIED for field in ordering):
        queryset = queryset.annotate(
            **{user_resource.LAST_MODIFIED: user_resource.LAST_MODIFIED_EXPRESSION}
        )
    page = _page(queryset.order_by(*ordering), query)
    _attach_users(page.items)
    return Page(
        total=page.total,
        start_index=page.start_index,
        items=[UserRead(access) for access in page.items],
    )


def scim_user_get(
    *,
    tenant: Tenant,
    user_id: str,
    values: bool = True,
    groups: bool = True,
    managers: bool = False,
) -> UserRead | None:
    found = lookups.users_where(_tenant_id(tenant), "id", parse_uuid(user_id), count=1)
    read = found[0] if found else None
    if read is not None:
        scim_user_details([read], values=values, groups=groups, managers=managers)
    return read


# --- groups -------------------------------------------------------------------------------------


def scim_group_queryset(tenant: Tenant) -> QuerySet[Group]:
    return Group.objects.for_tenant(tenant)


def scim_group_list(
    *, tenant: Tenant, query: ListQuery, settings: SCIMSettings, members: bool = False
) -> Page:
    """A page of groups. With `members` (the response will list them), the page also ends
    once it holds `list_max_members` members, so a page of large groups stays bounded in size
    and memory; it always holds at least one group, and `member_count` is set on each."""
    queryset = _filtered(scim_group_queryset(tenant), query, group_resource.FILTER_MAP, settings)
    queryset = queryset.order_by(
        *_ordering(query, GROUP_RESOURCE, group_resource.SORT_FIELDS, group_resource.DEFAULT_ORDER)
    )
    page = _page(queryset, query)
    if members and page.items:
        counts = scim_group_member_counts([group.pk for group in page.items])
        kept, total = [], 0
        for group in page.items:
            group.member_count = counts.get(group.pk, 0)
            if kept and total + group.member_count > settings.list_max_members:
                break
            kept.append(group)
            total += group.member_count
        page = Page(total=page.total, start_index=page.start_index, items=kept)
    return page


def scim_group_get(*, tenant: Tenant, group_id: str) -> Group | None:
    pk = parse_uuid(group_id)
    return scim_group_queryset(tenant).filter(pk=pk).first() if pk else None


MEMBER_COLUMNS = (
    "group_id",
    "access__user_id",
    "access__display_name",
    "access__user__user_name",
)
STREAM_CHUNK = 2000


def scim_group_member_rows(group_ids: Iterable) -> list[tuple]:
    """(group id, user id, display name, userName) of the members of some groups, in one
    query; for pages, whose members are bounded by `list_max_members`."""
    return list(
        GroupMembership.objects.filter(group_id__in=list(group_ids))
        .order_by("group_id", "access_id")
        .values_list(*MEMBER_COLUMNS)
    )


def scim_group_member_stream(group_id, *, chunk: int | None = None) -> Iterator[tuple]:
    """The same rows for one large group, read `chunk` at a time while they are written out.

    Each chunk is its own query, continuing after the last access id read (a range scan of
    the membership's unique index): no server-side cursor stays open between chunks, so a
    transaction-mode pooler can serve every chunk from any connection, and a group of 50,000
    members never becomes 50,000 objects. A member added or removed while the group streams
    may or may not appear; none appears twice.
    """
    chunk = chunk or STREAM_CHUNK
    after = 0
    while True:
        rows = list(
            GroupMembership.objects.filter(group_id=group_id, access_id__gt=after)
            .order_by("access_id")
            .values_list(*MEMBER_COLUMNS, "access_id")[:chunk]
        )
        for row in rows:
            yield row[:-1]
        if len(rows) < chunk:
            return
        after = rows[-1][-1]


def scim_group_member_counts(group_ids: list) -> dict:
    """{group id: number of members} for some groups, in one aggregate query."""
    return dict(
        GroupMembership.objects.filter(group_id__in=group_ids)
        .order_by()
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
    )


def scim_group_has_more_members_than(group: Group, limit: int) -> bool:
    """Whether the group has more than `limit` members, reading at most limit + 1 rows."""
    return GroupMembership.objects.filter(group=group)[: limit + 1].count() > limit
