"""The SCIM Group resource: a tenant's `Group`, its members read from `GroupMembership`.

Members are never rebuilt from a document: PATCH turns member changes into SQL deltas (see
`scim.services`), and responses leave members out entirely when the client excludes them.
This module maps (filters, sorting, cleaning) and renders; `scim.selectors` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import OuterRef, QuerySet

from kestra_iam.models import Group, GroupMembership
from scim.documents import Cleaner, timestamp
from scim.filters import Collection, FilterMap, Target
from scim.schema import GROUP_RESOURCE, GROUP_URN

MAX_LENGTHS = {
    "displayName": Group._meta.get_field("display_name").max_length,
    "externalId": Group._meta.get_field("external_id").max_length,
    "members.value": 64,
    "members.$ref": 2048,
    "members.type": 16,
}
CLEANER = Cleaner(
    GROUP_RESOURCE,
    MAX_LENGTHS,
    identifiers=frozenset({"displayName"}),
    required_keys={"members": ("value", "the id of a user of this tenant")},
)


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
                "display": Target("access__display_name"),
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
        "created": timestamp(group.created_at),
        "lastModified": timestamp(group.updated_at),
        "location": f"{base_url}/Groups/{group.id}",
        "version": group_version(group),
    }
    return document


def group_version(group: Group) -> str:
    return f'W/"{group.version}"'


def stream_group(
    group: Group, member_rows: Iterator[tuple], *, base_url: str, project
) -> Iterator[bytes]:
    """A group as JSON, its members written a chunk at a time as `member_rows` yields them
    (see `scim.selectors.scim_group_member_stream`).

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
    for _, user_id, display, user_name in member_rows:
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
