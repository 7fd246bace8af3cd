"""Conditional requests (RFC 7644 §3.14): `If-Match` on writes, `If-None-Match` on reads.

Versions are weak ETags (`W/"3"`); a client may send them with or without the `W/`, several
separated by commas, or `*`.
"""

from __future__ import annotations

from scim.exceptions import PreconditionFailed


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def check_version(current: str, if_match: str | None) -> None:
    """A write with If-Match applies only to the version the client saw (else 412)."""
    if if_match is None:
        return
    tags = _tags(if_match)
    if "*" not in tags and current.removeprefix("W/") not in tags:
        raise PreconditionFailed()


def not_modified(current: str, if_none_match: str | None) -> bool:
    """Whether a read with If-None-Match may answer 304 Not Modified."""
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or current.removeprefix("W/") in tags
