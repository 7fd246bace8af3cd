"""SCIM filters compiled to Django `Q` objects: one SQL query through the tenant's queryset.

Each resource type describes, per filterable attribute, how it is stored (`Target`). Anything
not described is refused with `400 invalidFilter` — never dropped, which would silently widen
or narrow the result. Comparisons follow the attribute's `caseExact`: case-insensitive strings
use a canonical key column where one exists (index-backed equality), else Django's `i*` lookups.
Django escapes `%` and `_` in `contains`/`startswith`/`endswith`, so they match literally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from kestra_iam.identifiers import parse_uuid
from kestra_iam.text import case_insensitive_key
from scim.exceptions import InvalidFilter
from scim.expressions import And, Comparison, Expr, ExpressionError, Limits, Not, Or, ValuePath
from scim.expressions import parse_filter as parse_expression
from scim.schema import ResourceType, resolve

_STRING_LOOKUPS = {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"}
_ORDER_LOOKUPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


@dataclass(frozen=True)
class Target:
    """How one attribute (or sub-attribute) is stored, relative to the queried model.

    kind: "string", "boolean", "datetime", "uuid" (ids and references), or "fk" (a reference
    stored as a foreign key whose value is the other row's id).
    `key` is a column holding `case_insensitive_key(value)`, used for case-insensitive strings.
    `empty` is what the column holds when the attribute has no value.
    """

    lookup: str
    kind: str = "string"
    case_exact: bool = False
    key: str | None = None
    empty: object = ""
    also: str | None = None  # a second column; the value is the later of the two (datetimes)
    # For a unique attribute: `equal(key)` is the Q that finds the one matching row through its
    # unique index first (a scalar sub-query, run once), so `eq` stays an index lookup whatever
    # the planner's statistics say.
    equal: Callable[[str], Q] | None = None


@dataclass(frozen=True)
class Collection:
    """A multi-valued attribute stored as related rows: filters become `EXISTS` sub-queries.

    `queryset(outer_ref)` returns the related rows belonging to the outer row; `targets` maps
    each sub-attribute name (lower case) to its `Target` on those rows; `default_sub` is the
    sub-attribute compared when a filter names the attribute alone (`emails eq "x"`).
    """

    queryset: Callable[[OuterRef], QuerySet]
    outer: str
    targets: dict[str, Target]
    default_sub: str = "value"


@dataclass(frozen=True)
class FilterMap:
    """Everything a resource type lets clients filter (and sort) on."""

    resource: ResourceType
    targets: dict[str, Target] = field(default_factory=dict)  # "username", "name.givenname", …
    collections: dict[str, Collection] = field(default_factory=dict)  # "emails", "members", …

    def target(self, dotted: str) -> Target | None:
        return self.targets.get(dotted.lower())


def compile_filter(text: str, filter_map: FilterMap, limits: Limits) -> Q:
    """Parse and compile a `filter` parameter; raises InvalidFilter with a readable reason."""
    try:
        expr = parse_expression(text, limits)
    except ExpressionError as exc:
        raise InvalidFilter(f"Invalid filter: {exc}.") from None
    return _Compiler(filter_map).compile(expr)


class _Compiler:
    def __init__(self, filter_map: FilterMap) -> None:
        self.map = filter_map

    def compile(self, expr: Expr) -> Q:
        if isinstance(expr, And):
            return self.compile(expr.left) & self.compile(expr.right)
        if isinstance(expr, Or):
            return self.compile(expr.left) | self.compile(expr.right)
        if isinstance(expr, Not):
            return ~self.compile(expr.expr)
        if isinstance(expr, ValuePath):
            return self.value_path(expr)
        return self.comparison(expr)

    def _resolve(self, uri: str | None, name: str, sub: str | None, written: str):
        resolved = resolve(self.map.resource, uri, name, sub)
        if resolved is None:
            raise InvalidFilter(f"Unknown attribute {written!r} in filter.")
        return resolved

    def comparison(self, comparison: Comparison) -> Q:
        path = comparison.path
        resolved = self._resolve(path.uri, path.attr, path.sub, str(path))
        collection = self.map.collections.get(resolved.attribute.name.lower())
        if collection is not None:
            sub = (resolved.sub.name if resolved.sub else collection.default_sub).lower()
            target = collection.targets.get(sub)
            if target is None:
                raise InvalidFilter(f"Filtering on {str(path)!r} is not supported.")
            condition = _compare(target, comparison.op, comparison.value, str(path))
            return Q(Exists(collection.queryset(OuterRef(collection.outer)).filter(condition)))
        if resolved.attribute.is_complex and resolved.sub is None:
            # A complex single-valued attribute named alone compares its `value` (manager).
            target = self.map.target(f"{resolved.attribute.name}.value")
        else:
            target = self.map.target(resolved.dotted)
        if target is None:
            raise InvalidFilter(f"Filtering on {str(path)!r} is not supported.")
        return _compare(target, comparison.op, comparison.value, str(path))

    def value_path(self, expr: ValuePath) -> Q:
        path = expr.path
        resolved = self._resolve(path.uri, path.attr, None, str(path))
        collection = self.map.collections.get(resolved.attribute.name.lower())
        if collection is None:
            if resolved.attribute.is_complex and not resolved.attribute.multi_valued:
                # `manager[value eq "x"]`: the inner filter applies to the attribute itself.
                return self._nested(
                    expr.filter,
                    lambda sub: self.map.target(f"{resolved.attribute.name}.{sub}"),
                    resolved.attribute.name,
                )
            raise InvalidFilter(f"{str(path)!r} has no sub-attributes to filter on.")

        def sub_target(sub: str) -> Target | None:
            if resolved.attribute.sub(sub) is None:
                return None
            return collection.targets.get(sub.lower())

        condition = self._nested(expr.filter, sub_target, resolved.attribute.name)
        return Q(Exists(collection.queryset(OuterRef(collection.outer)).filter(condition)))

    def _nested(self, expr: Expr, target_of: Callable[[str], Target | None], parent: str) -> Q:
        """Compile a value filter whose paths are sub-attributes of `parent`."""
        if isinstance(expr, And):
            return self._nested(expr.left, target_of, parent) & self._nested(
                expr.right, target_of, parent
            )
        if isinstance(expr, Or):
            return self._nested(expr.left, target_of, parent) | self._nested(
                expr.right, target_of, parent
            )
        if isinstance(expr, Not):
            return ~self._nested(expr.expr, target_of, parent)
        if isinstance(expr, ValuePath):
            raise InvalidFilter("Value filters cannot be nested.")
        name = expr.path.attr if expr.path.sub is None else f"{expr.path.attr}.{expr.path.sub}"
        if expr.path.uri is not None or expr.path.sub is not None:
            raise InvalidFilter(f"{name!r} is not a sub-attribute of {parent!r}.")
        target = target_of(expr.path.attr)
        if target is None:
            raise InvalidFilter(f"Unknown sub-attribute {name!r} of {parent!r} in filter.")
        return _compare(target, expr.op, expr.value, f"{parent}.{name}")


def _compare(target: Target, op: str, value: object, written: str) -> Q:
    if op == "ne":
        return ~_compare(target, "eq", value, written)
    return _compare_value(target, op, value, written)


def _compare_value(target: Target, op: str, value: object, written: str) -> Q:
    if op == "pr":
        if target.kind in ("fk", "uuid", "boolean", "datetime"):
            return Q(**{f"{target.lookup}__isnull": False})
        return ~Q(**{target.lookup: target.empty}) & Q(**{f"{target.lookup}__isnull": False})
    if target.kind == "boolean":
        return _compare_boolean(target, op, value, written)
    if target.kind == "datetime":
        return _compare_datetime(target, op, value, written)
    if target.kind in ("uuid", "fk"):
        return _compare_uuid(target, op, value, written)
    return _compare_string(target, op, value, written)


def _require_string(value: object, written: str) -> str:
    if not isinstance(value, str):
        raise InvalidFilter(f"{written!r} compares with a string; got {value!r}.")
    return value


def _compare_string(target: Target, op: str, value: object, written: str) -> Q:
    text = _require_string(value, written)
    if op in _ORDER_LOOKUPS:
        if target.case_exact or target.key is None:
            return Q(**{f"{target.lookup}__{_ORDER_LOOKUPS[op]}": text})
        return Q(**{f"{target.key}__{_ORDER_LOOKUPS[op]}": case_insensitive_key(text)})
    lookup = _STRING_LOOKUPS.get(op)
    if lookup is None:
        raise InvalidFilter(f"Operator {op!r} is not supported on {written!r}.")
    if target.case_exact:
        return Q(**{f"{target.lookup}__{lookup}": text})
    if target.equal is not None and op == "eq":
        return target.equal(case_insensitive_key(text))
    if target.key is not None:
        return Q(**{f"{target.key}__{lookup}": case_insensitive_key(text)})
    return Q(**{f"{target.lookup}__i{lookup}": text})


def _compare_boolean(target: Target, op: str, value: object, written: str) -> Q:
    if op != "eq":
        raise InvalidFilter(f"{written!r} is a boolean: only eq, ne and pr apply.")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidFilter(f"{written!r} compares with true or false; got {value!r}.")
    return Q(**{target.lookup: value})


def _compare_datetime(target: Target, op: str, value: object, written: str) -> Q:
    text = _require_string(value, written)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilter(
            f"{written!r} compares with an ISO 8601 date-time; got {text!r}."
        ) from None
    if moment.tzinfo is None:
        raise InvalidFilter(f"{written!r}: the date-time {text!r} needs a time zone (e.g. Z).")
    try:
        # Stored in UTC: a moment that has no UTC equivalent (year 1 at +14:00) matches
        # nothing any database could hold, and is refused the same way on each of them.
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise InvalidFilter(f"{written!r}: the date-time {text!r} is out of range.") from None
    if target.also is not None:
        return _compare_latest(target.lookup, target.also, op, moment, written)
    if op == "eq":
        return Q(**{target.lookup: moment})
    if op in _ORDER_LOOKUPS:
        return Q(**{f"{target.lookup}__{_ORDER_LOOKUPS[op]}": moment})
    raise InvalidFilter(f"Operator {op!r} is not supported on the date-time {written!r}.")


def _compare_latest(a: str, b: str, op: str, moment, written: str) -> Q:
    """Compare max(a, b) with a moment without computing the maximum in SQL."""
    if op in ("gt", "ge"):
        lookup = _ORDER_LOOKUPS[op]
        return Q(**{f"{a}__{lookup}": moment}) | Q(**{f"{b}__{lookup}": moment})
    if op in ("lt", "le"):
        lookup = _ORDER_LOOKUPS[op]
        return Q(**{f"{a}__{lookup}": moment}) & Q(**{f"{b}__{lookup}": moment})
    if op == "eq":
        return (Q(**{a: moment}) & Q(**{f"{b}__lte": moment})) | (
            Q(**{b: moment}) & Q(**{f"{a}__lte": moment})
        )
    raise InvalidFilter(f"Operator {op!r} is not supported on the date-time {written!r}.")


def _compare_uuid(target: Target, op: str, value: object, written: str) -> Q:
    text = _require_string(value, written)
    if op != "eq":
        raise InvalidFilter(f"{written!r} is an identifier: only eq, ne and pr apply.")
    identifier = parse_uuid(text)
    if identifier is None:
        return Q(pk__in=[])  # not one of our ids: matches nothing
    return Q(**{target.lookup: identifier})
