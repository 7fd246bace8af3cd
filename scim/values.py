"""Operations on attribute values as documents hold them: set or drop a value, a sub-attribute,
the single `primary`, and multi-valued unions and removals done in linear work."""

from __future__ import annotations

import json

from scim.documents import get_key


def store(container: dict, name: str, value: object) -> None:
    if value in (None, [], {}, ""):
        container.pop(name, None)
    else:
        container[name] = value


def with_sub(element: dict, name: str, value: object) -> dict:
    """A complex value with one sub-attribute set, or removed when `value` is None."""
    if value is None:
        element.pop(name, None)
    else:
        element[name] = value
    return element


def single_primary(elements: list, keep: int | None = None) -> list:
    """At most one `primary: true` (RFC 7643 §2.4): the last one set wins."""
    if not all(isinstance(e, dict) for e in elements):
        return elements
    primaries = [i for i, e in enumerate(elements) if e.get("primary") is True]
    if len(primaries) <= 1:
        return elements
    winner = keep if keep in primaries else primaries[-1]
    return [
        {**e, "primary": False} if i in primaries and i != winner else e
        for i, e in enumerate(elements)
    ]


def value_of(element: object) -> object:
    """The `value` of a complex value (any case of the key), or a simple value itself."""
    return get_key(element, "value") if isinstance(element, dict) else element


def same_value(element: object, wanted: object) -> bool:
    ours = value_of(element)
    return ours is not None and ours == value_of(wanted)


def identity(item: object) -> str:
    """A hashable stand-in for a JSON value, equal for equal values whatever the key order."""
    return json.dumps(item, sort_keys=True, default=str)


def union(current: list, added: list) -> list:
    """`current` followed by the `added` values it does not hold yet: linear, not quadratic,
    whatever the number of values."""
    seen = {identity(item) for item in current}
    merged = list(current)
    for item in added:
        key = identity(item)
        if key not in seen:
            seen.add(key)
            merged.append(item)
    return merged


def without_values(elements: list, wanted: list) -> list:
    """`elements` minus those whose value is one of `wanted`'s, in linear work."""
    unwanted = {identity(value_of(w)) for w in wanted}
    return [e for e in elements if value_of(e) is None or identity(value_of(e)) not in unwanted]
