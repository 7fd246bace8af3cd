"""The SCIM Group resource: a tenant's `Group`, its members read from `GroupMembership`.

Members are never rebuilt from a document: PATCH turns member changes into SQL deltas (see
`scim.services`), and responses leave members out entirely when the client excludes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.db.models import Count, OuterRef, QuerySet

from kestra_iam.models import Group, GroupMembership
from scim.documents import Cleaner
from scim.filters import Collection, FilterMap, Target
from scim.schema import GROUP_RESOURCE, GROUP_URN

MAX_LENGTHS = {
    "displayName": Group._meta.get_field("display_name").max_length,
    "externalId": Group._meta.get_field("external_id").max_length,
    "members.value": 64,
    "members.$ref": 2048,
    "members.type": 16,
}
CLEANER = Cleaner(GROUP_RESOURCE, MAX_LENGTHS, identifiers=frozenset({"displayName"}))


def group_queryset(tenant) -> QuerySet[Group]:
    return Group.objects.for_tenant(tenant)


def _members_of(outer: OuterRef) -> QuerySet:
    return GroupMembership.objects.filter(group_id=outer)


FILTER_MAP = FilterMap(
    resource=GROUP_RESOURCE,
    targets={
        "id": Target("pk", kind="uuid", case_exact=True),
        "displayname": Target("display_name", key="display_name_key"),
        "externalid": Target("external_id", case_exact=True),
        "meta.created": Target("created_at", kind="datetime"),
        "meta.lastmodified": Target("updated_at", kind="datetime"),
    },
    collections={
        "members": Collection(
            _members_of,
            "pk",
            {
                "value": Target("access__user_id", kind="uuid", case_exact=True),
                "display": Target("access__user__display_name"),
            },
        ),
    },
)
SORT_FIELDS = {
    "id": "pk",
    "displayname": "display_name_key",
    "externalid": "external_id",
    "meta.created": "created_at",
    "meta.lastmodified": "updated_at",
}
DEFAULT_ORDER = ("display_name_key", "pk")  # unique per tenant: stable and index-backed


def member_rows(group_ids: Iterable) -> Iterator[tuple]:
    """(group id, user id, display name, userName) of the members of some groups, in order.

    Read as plain tuples in chunks: a group of 50,000 members never becomes 50,000 objects.
    """
    rows = (
        GroupMembership.objects.filter(group_id__in=list(group_ids))
        .order_by("group_id", "id")
        .values_list(
            "group_id", "access__user_id", "access__user__display_name", "access__user__user_name"
        )
    )
    return rows.iterator(chunk_size=2000)


def member_counts(group_ids: list) -> dict:
    """{group id: number of members} for some groups, in one aggregate query."""
    return dict(
        GroupMembership.objects.filter(group_id__in=group_ids)
        .order_by()
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
    )


def render_member(user_id, display_name: str, user_name: str, *, base_url: str) -> dict:
    return {
        "value": str(user_id),
        "$ref": f"{base_url}/Users/{user_id}",
        "display": display_name or user_name,
        "type": "User",
    }


def render_group(group: Group, *, base_url: str, members: list[dict] | None) -> dict:
    """The SCIM representation; `members=None` leaves the attribute out."""
    document: dict = {
        "schemas": [GROUP_URN],
        "id": str(group.id),
        "displayName": group.display_name,
    }
    if group.external_id:
        document["externalId"] = group.external_id
    if members is not None:
        document["members"] = members
    document["meta"] = {
        "resourceType": "Group",
        "created": group.created_at.isoformat().replace("+00:00", "Z"),
        "lastModified": group.updated_at.isoformat().replace("+00:00", "Z"),
        "location": f"{base_url}/Groups/{group.id}",
        "version": group_version(group),
    }
    return document


def group_version(group: Group) -> str:
    return f'W/"{group.version}"'


def has_more_members_than(group: Group, limit: int) -> bool:
    """Whether the group has more than `limit` members, reading at most limit + 1 rows."""
    return GroupMembership.objects.filter(group=group)[: limit + 1].count() > limit


def stream_list(envelope: dict, resources: list) -> Iterator[bytes]:
    """A ListResponse written out piece by piece: each resource is a rendered document or an
    iterator of JSON bytes (a streamed group)."""
    head = json.dumps({**envelope, "Resources": []}, separators=(",", ":"))
    yield head[: -len("]}")].encode()
    for index, resource in enumerate(resources):
        if index:
            yield b","
        if isinstance(resource, dict):
            yield json.dumps(resource, separators=(",", ":")).encode()
        else:
            yield from resource
    yield b"]}"


def stream_group(group: Group, *, base_url: str, project) -> Iterator[bytes]:
    """A group as JSON, its members written a chunk at a time.

    `project` applies the response's projection to a rendered group (with `members` given as an
    empty list) and to each member; memory stays flat whatever the number of members.
    """
    document = project(render_group(group, base_url=base_url, members=[]))
    if "members" not in document:
        yield json.dumps(document, separators=(",", ":")).encode()
        return
    document.pop("members")
    head = json.dumps(document, separators=(",", ":"))
    yield (head[:-1] + ("," if document else "") + '"members":[').encode()
    separator = ""
    chunk: list[str] = []
    for _, user_id, display, user_name in member_rows([group.pk]):
        member = render_member(user_id, display, user_name, base_url=base_url)
        chunk.append(
            json.dumps(project({"members": [member]})["members"][0], separators=(",", ":"))
        )
        if len(chunk) >= 1000:
            yield (separator + ",".join(chunk)).encode()
            separator, chunk = ",", []
    if chunk:
        yield (separator + ",".join(chunk)).encode()
    yield b"]}"
