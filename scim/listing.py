"""ListResponse envelopes (RFC 7644 §3.4.2), written whole or streamed.

The one place that shapes a list: resource lists, searches and discovery lists alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from scim.schema import LIST_RESPONSE_URN


def list_envelope(*, total: int, start_index: int, count: int) -> dict:
    """Everything of a ListResponse but its `Resources`."""
    return {
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": count,
    }


def list_body(resources: list[dict], *, total: int | None = None, start_index: int = 1) -> dict:
    """A whole ListResponse; `total` defaults to the resources given (discovery lists)."""
    envelope = list_envelope(
        total=len(resources) if total is None else total,
        start_index=start_index,
        count=len(resources),
    )
    return {**envelope, "Resources": resources}


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
