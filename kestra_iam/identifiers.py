"""Identifiers as clients send them: text that may or may not be one of our UUIDs."""

from __future__ import annotations

import uuid


def parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID `value` spells (in any of the forms `uuid.UUID` reads), or None.

    Callers treat None as "no such object", so a malformed id answers exactly like an unknown
    one and reveals nothing.
    """
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
