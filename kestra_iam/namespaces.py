"""Kestra namespaces: their format, and which namespace a binding's namespace covers.

A namespace is a dotted path (`company.data.etl`). A binding limited to `company.data` applies
there and to every namespace below it (`company.data.etl`), never to `company.database` or
`company`. The format is Kestra's — lowercase letters, digits, `.`, `_` and `-`, starting with a
letter or digit — with no empty segment (`a..b`, `a.`), which would make "below" ambiguous.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MAX_LENGTH = 150
_FORMAT = re.compile(r"[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*")


def validate_namespace(value: str) -> None:
    """Raise ValidationError, in words, unless `value` is a namespace (empty is allowed and
    means "the whole tenant" wherever a namespace is optional)."""
    if value == "":
        return
    if not isinstance(value, str) or len(value) > MAX_LENGTH or not _FORMAT.fullmatch(value):
        raise ValidationError(
            f"{value!r} is not a namespace: use lowercase letters, digits, '_', '-' and dots "
            f"between parts (e.g. company.data.etl), starting with a letter or digit, at most "
            f"{MAX_LENGTH} characters.",
            code="invalid_namespace",
        )


def covers(scope: str, namespace: str) -> bool:
    """Whether a grant limited to `scope` ('' for the whole tenant) applies in `namespace`
    ('' for the tenant as a whole, which only a tenant-wide grant covers)."""
    if scope == "":
        return True
    return namespace == scope or namespace.startswith(scope + ".")


def scopes_covering(namespace: str) -> list[str]:
    """Every scope that covers `namespace`: the whole tenant, then each ancestor, then itself
    (`a.b` → `['', 'a', 'a.b']`)."""
    if namespace == "":
        return [""]
    parts = namespace.split(".")
    return ["", *(".".join(parts[: i + 1]) for i in range(len(parts)))]
