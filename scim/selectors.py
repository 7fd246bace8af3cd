"""SCIM reads: list queries (filter, sort, page) and single resources, scoped to one tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from kestra_iam.models import Group, Tenant, TenantAccess
from scim import groups as group_resource
from scim import users as user_resource
from scim.conf import SCIMSettings
from scim.exceptions import InvalidValue
from scim.expressions import ExpressionError, parse_attribute_list
from scim.filters import FilterMap, compile_filter
from scim.schema import GROUP_RESOURCE, USER_RESOURCE, ResourceType, resolve

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


def scim_user_list(
    *,
    tenant: Tenant,
    query: ListQuery,
    settings: SCIMSettings,
    values: bool,
    groups: bool,
    managers: bool = False,
) -> Page:
    queryset = _filtered(
        user_resource.user_queryset(tenant), query, user_resource.FILTER_MAP, settings
    )
    ordering = _ordering(
        query, USER_RESOURCE, user_resource.SORT_FIELDS, user_resource.DEFAULT_ORDER
    )
    if any(field.lstrip("-") == user_resource.LAST_MODIFIED for field in ordering):
        queryset = queryset.annotate(
            **{user_resource.LAST_MODIFIED: user_resource.LAST_MODIFIED_EXPRESSION}
        )
    page = _page(queryset.order_by(*ordering), query)
    user_resource.load_details(page.items, values=values, groups=groups, managers=managers)
    return page


def scim_user_get(
    *,
    tenant: Tenant,
    user_id: str,
    values: bool = True,
    groups: bool = True,
    managers: bool = False,
) -> TenantAccess | None:
    try:
        pk = uuid.UUID(str(user_id))
    except ValueError:
        return None
    access = user_resource.user_queryset(tenant).filter(user_id=pk).first()
    if access is not None:
        user_resource.load_details([access], values=values, groups=groups, managers=managers)
    return access


def scim_group_list(
    *, tenant: Tenant, query: ListQuery, settings: SCIMSettings, members: bool = False
) -> Page:
    """A page of groups. With `members` (the response will list them), the page also ends
    once it holds `list_max_members` members, so a page of large groups stays bounded in size
    and memory; it always holds at least one group, and `member_count` is set on each."""
    queryset = _filtered(
        group_resource.group_queryset(tenant), query, group_resource.FILTER_MAP, settings
    )
    queryset = queryset.order_by(
        *_ordering(query, GROUP_RESOURCE, group_resource.SORT_FIELDS, group_resource.DEFAULT_ORDER)
    )
    page = _page(queryset, query)
    if members and page.items:
        counts = group_resource.member_counts([group.pk for group in page.items])
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
    try:
        pk = uuid.UUID(str(group_id))
    except ValueError:
        return None
    return group_resource.group_queryset(tenant).filter(pk=pk).first()
