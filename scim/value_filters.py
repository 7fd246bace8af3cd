"""Value filters (`emails[type eq "work"]`) evaluated in memory against one resource's values.

Used by PATCH paths; list filters are compiled to SQL instead (`scim.filters`).
"""

from __future__ import annotations

from scim.documents import get_key
from scim.exceptions import InvalidFilter
from scim.expressions import And, Comparison, Expr, Not, Or, ValuePath
from scim.schema import Attribute


def matches(element: dict, expr: Expr, attribute: Attribute) -> bool:
    """Whether one value of a complex attribute satisfies a value filter."""
    if isinstance(expr, And):
        return matches(element, expr.left, attribute) and matches(element, expr.right, attribute)
    if isinstance(expr, Or):
        return matches(element, expr.left, attribute) or matches(element, expr.right, attribute)
    if isinstance(expr, Not):
        return not matches(element, expr.expr, attribute)
    if isinstance(expr, ValuePath):
        raise InvalidFilter("Value filters cannot be nested.")
    sub = filter_sub(expr, attribute)
    return _compare(get_key(element, sub.name), expr.op, expr.value, sub)


def filter_sub(expr: Comparison, attribute: Attribute) -> Attribute:
    if expr.path.uri is not None or expr.path.sub is not None:
        raise InvalidFilter(f"{expr.path} is not a sub-attribute of {attribute.name}.")
    sub = attribute.sub(expr.path.attr)
    if sub is None:
        raise InvalidFilter(f"{attribute.name} has no sub-attribute {expr.path.attr!r}.")
    return sub


def _compare(actual: object, op: str, expected: object, sub: Attribute) -> bool:
    if op == "pr":
        return actual not in (None, "", [], {})
    if sub.type == "boolean":
        return _compare_boolean(actual, op, expected, sub)
    if actual is None:
        return op == "ne"
    if not isinstance(actual, str) or not isinstance(expected, str):
        return op == "ne" if op in ("eq", "ne") else False
    if not sub.case_exact:
        actual, expected = actual.casefold(), expected.casefold()
    return {
        "eq": actual == expected,
        "ne": actual != expected,
        "co": expected in actual,
        "sw": actual.startswith(expected),
        "ew": actual.endswith(expected),
        "gt": actual > expected,
        "ge": actual >= expected,
        "lt": actual < expected,
        "le": actual <= expected,
    }[op]


def _compare_boolean(actual: object, op: str, expected: object, sub: Attribute) -> bool:
    if isinstance(expected, str) and expected.lower() in ("true", "false"):
        expected = expected.lower() == "true"
    actual = bool(actual) if actual is not None else False
    if op == "eq":
        return actual is expected
    if op == "ne":
        return actual is not expected
    raise InvalidFilter(f"{sub.name} is a boolean: only eq, ne and pr apply.")


def member_ids_from_filter(expr: Expr) -> list[str]:
    """`members[value eq "a" or value eq "b"]` → ["a", "b"]; other member filters are refused."""
    if isinstance(expr, Or):
        return member_ids_from_filter(expr.left) + member_ids_from_filter(expr.right)
    if (
        isinstance(expr, Comparison)
        and expr.op == "eq"
        and expr.path.uri is None
        and expr.path.sub is None
        and expr.path.attr.lower() == "value"
        and isinstance(expr.value, str)
    ):
        return [expr.value]
    raise InvalidFilter('A members filter must select members by id: members[value eq "<id>"].')
