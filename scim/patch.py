"""SCIM PATCH (RFC 7644 §3.5.2) as pure functions: parse operations, normalise, apply to a document.

No database here. `parse_operations` validates the request and returns typed operations;
`normalise` is the single place where the shapes real clients send (Microsoft Entra ID above
all) are turned into RFC operations; `apply_operations` applies them, in order, to a document and
returns the new document plus the membership changes, which the caller applies as SQL deltas.

Tolerances, each listed in `normalise` and each unambiguous for RFC clients:
- `op` in any case (`Add`, `Replace`, `Remove`);
- a path-less `add`/`replace` whose keys are attribute paths (`name.givenName`, `urn:…:department`);
- `remove` of a multi-valued attribute *with* a value removes just those values (Entra's way of
  removing group members; the RFC defines no value on remove, so no RFC client is affected);
- manager given as a bare id, `{"value": id}` or `[{"value": id}]`, and cleared by `""`;
- `replace`/`add` on a filtered path that matches nothing creates the element when the filter
  only states `eq` values (`emails[type eq "work"].value`), instead of `noTarget`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from scim.documents import Cleaner
from scim.exceptions import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    TooMany,
)
from scim.expressions import (
    And,
    Comparison,
    Expr,
    ExpressionError,
    Limits,
    Not,
    Or,
    PatchPath,
    ValuePath,
    parse_path,
)
from scim.schema import PATCH_OP_URN, Attribute, ResolvedPath, ResourceType, resolve

OPS = ("add", "remove", "replace")


@dataclass(frozen=True)
class Operation:
    op: str  # add | remove | replace
    path: PatchPath | None
    value: object = None
    has_value: bool = False
    index: int = 0  # position in the request, for messages


@dataclass
class MemberChange:
    """One membership change, in request order: add/remove some user ids, or replace/clear all."""

    kind: str  # add | remove | replace
    ids: list[str] = field(default_factory=list)


@dataclass
class PatchResult:
    document: dict
    member_changes: list[MemberChange]
    password: str | None = None
    password_removed: bool = False


def _get(mapping: dict, name: str, default=None):
    """A key of a JSON object, ignoring case (RFC 7643 §2.1)."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return default


def _has(mapping: dict, name: str) -> bool:
    lowered = name.lower()
    return any(isinstance(key, str) and key.lower() == lowered for key in mapping)


def parse_operations(body: object, *, max_operations: int, limits: Limits) -> list[Operation]:
    """Validate a PatchOp request body; raise a SCIM error naming the first problem."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The body must be a PatchOp JSON object.")
    schemas = _get(body, "schemas")
    if schemas is not None and (
        not isinstance(schemas, list)
        or PATCH_OP_URN not in [s for s in schemas if isinstance(s, str)]
    ):
        raise InvalidSyntax(f"schemas must contain {PATCH_OP_URN}.")
    raw_operations = _get(body, "Operations")
    if not isinstance(raw_operations, list) or not raw_operations:
        raise InvalidSyntax("Operations must be a non-empty array.")
    if len(raw_operations) > max_operations:
        raise TooMany(f"At most {max_operations} operations are accepted in one PATCH request.")
    operations = []
    for index, raw in enumerate(raw_operations):
        where = f"Operations[{index}]"
        if not isinstance(raw, dict):
            raise InvalidSyntax(f"{where} must be an object.")
        op = _get(raw, "op")
        if not isinstance(op, str) or op.lower() not in OPS:
            raise InvalidSyntax(f"{where}.op must be add, remove or replace; got {op!r}.")
        raw_path = _get(raw, "path")
        path = None
        if raw_path is not None:
            if not isinstance(raw_path, str):
                raise InvalidPath(f"{where}.path must be a string.")
            if raw_path.strip():
                try:
                    path = parse_path(raw_path, limits)
                except ExpressionError as exc:
                    raise InvalidPath(f"{where}.path {raw_path!r} is invalid: {exc}.") from None
        operations.append(
            Operation(
                op=op.lower(),
                path=path,
                value=_get(raw, "value"),
                has_value=_has(raw, "value"),
                index=index,
            )
        )
    return operations


# --- applying -----------------------------------------------------------------------------------


@dataclass
class _Target:
    resolved: ResolvedPath
    filter: Expr | None
    sub: Attribute | None

    @property
    def attribute(self) -> Attribute:
        return self.resolved.attribute


class PatchApplier:
    """Applies operations to one resource's document."""

    def __init__(
        self,
        resource: ResourceType,
        cleaner: Cleaner,
        *,
        resource_id: str,
        member_attribute: str | None = None,
        max_members: int = 10_000,
    ) -> None:
        self.resource = resource
        self.cleaner = cleaner
        self.resource_id = resource_id
        self.member_attribute = member_attribute
        self.max_members = max_members

    def apply(self, document: dict, operations: list[Operation]) -> PatchResult:
        result = PatchResult(document=copy.deepcopy(document), member_changes=[])
        member_count = 0
        for operation in operations:
            for normalised in self.normalise(operation):
                self._apply_one(result, normalised)
        for change in result.member_changes:
            member_count += len(change.ids)
        if member_count > self.max_members:
            raise TooMany(f"At most {self.max_members} members can change in one PATCH request.")
        self._check_value_counts(result.document)
        for attribute in self.resource.schema.attributes:
            if attribute.required and attribute.name not in result.document:
                raise InvalidValue(f"{attribute.name} is required and cannot be removed.")
        return result

    def _check_value_counts(self, document: dict) -> None:
        for schema in self.resource.schemas:
            container = document if schema is self.resource.schema else document.get(schema.id)
            for attribute in schema.attributes if isinstance(container, dict) else ():
                values = container.get(attribute.name)
                if attribute.multi_valued and isinstance(values, list):
                    self.cleaner.check_value_count(attribute, len(values), where=attribute.name)

    # -- normalisation: the one place for client quirks --

    def normalise(self, operation: Operation) -> list[Operation]:
        where = f"Operations[{operation.index}]"
        extension = self._whole_extension(operation.path)
        if extension is not None:
            # The path names an extension schema: the operation applies to all its attributes.
            if operation.op == "remove":
                return [
                    Operation(
                        "remove",
                        parse_path(f"{extension.id}:{a.name}"),
                        None,
                        False,
                        operation.index,
                    )
                    for a in extension.attributes
                ]
            if not isinstance(operation.value, dict):
                raise InvalidValue(f"{where}: the value of {extension.id} must be an object.")
            return [
                op
                for name, value in operation.value.items()
                if isinstance(name, str) and name.lower() != "schemas"
                for op in self._keyed(operation, f"{extension.id}:{name}", value)
            ]
        if operation.path is None:
            if operation.op == "remove":
                raise NoTarget(f"{where}: remove needs a path.")
            if not isinstance(operation.value, dict):
                raise InvalidValue(
                    f"{where}: without a path, value must be an object of attributes."
                )
            expanded = []
            for key, value in operation.value.items():
                if not isinstance(key, str):
                    continue
                schema = self.resource.schema_for_uri(key)
                if schema is not None and schema is not self.resource.schema:
                    # {"urn:…:User": {"department": "x"}}: one operation per extension attribute
                    if not isinstance(value, dict):
                        raise InvalidValue(f"{where}: {key} must be an object.")
                    for name, sub_value in value.items():
                        if isinstance(name, str) and name.lower() != "schemas":
                            expanded.extend(
                                self._keyed(operation, f"{schema.id}:{name}", sub_value)
                            )
                    continue
                expanded.extend(self._keyed(operation, key, value))
            return expanded
        return [operation]

    def _whole_extension(self, path: PatchPath | None):
        if path is None or path.filter is not None or path.attr.uri is None or path.attr.sub:
            return None
        schema = self.resource.schema_for_uri(f"{path.attr.uri}:{path.attr.attr}")
        return schema if schema is not None and schema is not self.resource.schema else None

    def _keyed(self, operation: Operation, key: str, value: object) -> list[Operation]:
        if key.lower() == "schemas":
            return []  # part of the resource object the client echoes back; nothing to change
        if key.lower() == "id":
            if value == self.resource_id:
                return []  # Okta sends the resource's own id with a rename
            raise Mutability("id is read-only.")
        if key.lower() == "meta":
            return []  # read-only and informational (Entra sends it)
        try:
            path = parse_path(key)
        except ExpressionError as exc:
            raise InvalidPath(f"{key!r} is not an attribute path: {exc}.") from None
        return [Operation(operation.op, path, value, True, operation.index)]

    # -- one operation --

    def _resolve(self, operation: Operation) -> _Target:
        path = operation.path
        if path.attr.attr.lower() == "schemas" and path.attr.uri is None:
            raise Mutability("schemas cannot be changed.")
        resolved = resolve(self.resource, path.attr.uri, path.attr.attr)
        if resolved is None:
            raise InvalidPath(f"Unknown attribute {str(path.attr)!r}.")
        sub = None
        sub_name = path.sub_attribute
        if sub_name is not None:
            sub = resolved.attribute.sub(sub_name)
            if sub is None:
                raise InvalidPath(f"{resolved.attribute.name!r} has no sub-attribute {sub_name!r}.")
        if path.filter is not None and not resolved.attribute.is_complex:
            raise InvalidPath(f"{resolved.attribute.name!r} has no sub-attributes to filter on.")
        if resolved.attribute.mutability == "readOnly" or (
            sub is not None and sub.mutability == "readOnly"
        ):
            name = resolved.dotted if sub is None else f"{resolved.attribute.name}.{sub.name}"
            raise Mutability(f"{name} is read-only.")
        return _Target(resolved, path.filter, sub)

    def _container(self, document: dict, target: _Target, *, create: bool) -> dict | None:
        if target.resolved.is_extension:
            urn = target.resolved.schema.id
            if urn not in document:
                if not create:
                    return None
                document[urn] = {}
            return document[urn]
        return document

    def _apply_one(self, result: PatchResult, operation: Operation) -> None:
        target = self._resolve(operation)
        attribute = target.attribute
        if attribute.name == "password":
            self._password(result, operation, target)
            return
        if self.member_attribute and attribute.name == self.member_attribute:
            self._members(result, operation, target)
            return
        value = self._normalise_value(operation, target)
        if operation.op == "remove":
            self._remove(result.document, operation, target, value)
        else:
            self._set(result.document, operation, target, value)

    def _normalise_value(self, operation: Operation, target: _Target) -> object:
        value = operation.value
        attribute = target.attribute
        if attribute.name == "manager" and target.resolved.is_extension and target.sub is None:
            # Entra's manager shapes: "id", {"value": id}, [{"$ref": …, "value": id}], "" to clear.
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, str):
                value = {"value": value}
            if isinstance(value, dict) and _get(value, "value") in ("", None):
                value = None
                if operation.op != "remove":
                    return _CLEAR
        return value

    def _clean(
        self, attribute: Attribute, value: object, *, where: str, dotted: str, single: bool = False
    ):
        if single or not attribute.multi_valued:
            return self.cleaner.clean_single(attribute, value, where=where, dotted=dotted)
        if isinstance(value, dict):
            value = [value]  # one element given for a multi-valued attribute
        return self.cleaner.clean_value(attribute, value, where=where, dotted=dotted)

    def _set(self, document: dict, operation: Operation, target: _Target, value: object) -> None:
        attribute = target.attribute
        where = f"Operations[{operation.index}].value"
        if value is _CLEAR:
            container = self._container(document, target, create=False)
            if container is not None:
                container.pop(attribute.name, None)
                if target.resolved.is_extension and not container:
                    document.pop(target.resolved.schema.id, None)
            return
        if not operation.has_value:
            raise InvalidValue(f"Operations[{operation.index}]: {operation.op} needs a value.")
        container = self._container(document, target, create=True)
        if target.filter is not None:
            self._set_filtered(container, operation, target, value)
        elif target.sub is not None:
            if attribute.multi_valued:
                raise InvalidPath(
                    f"{attribute.name}.{target.sub.name} names a sub-attribute of every value; "
                    "select values with a filter, e.g. "
                    f'{attribute.name}[type eq "work"].{target.sub.name}.'
                )
            cleaned = self._clean(
                target.sub, value, where=where, dotted=f"{attribute.name}.{target.sub.name}"
            )
            current = dict(container.get(attribute.name) or {})
            if cleaned is None:
                current.pop(target.sub.name, None)
            else:
                current[target.sub.name] = cleaned
            _store(container, attribute.name, current)
        elif attribute.multi_valued:
            cleaned = self._clean(attribute, value, where=where, dotted=attribute.name) or []
            if operation.op == "add":
                cleaned = _union(container.get(attribute.name) or [], cleaned)
            _store(container, attribute.name, _single_primary(cleaned))
        elif attribute.is_complex:
            cleaned = self._clean(attribute, value, where=where, dotted=attribute.name)
            if cleaned is None and operation.op == "replace":
                container.pop(attribute.name, None)
                return
            merged = {**(container.get(attribute.name) or {}), **(cleaned or {})}
            _store(container, attribute.name, merged)
        else:
            _store(
                container,
                attribute.name,
                self._clean(attribute, value, where=where, dotted=attribute.name),
            )
        if target.resolved.is_extension and not container:
            document.pop(target.resolved.schema.id, None)

    def _set_filtered(
        self, container: dict, operation: Operation, target: _Target, value: object
    ) -> None:
        attribute = target.attribute
        where = f"Operations[{operation.index}].value"
        if not attribute.multi_valued:
            current = container.get(attribute.name)
            if current is None or not matches(current, target.filter, attribute):
                raise NoTarget(f"The filter on {attribute.name} matches no value.")
            elements = [current]
        else:
            elements = list(container.get(attribute.name) or [])
        hits = [
            i for i, element in enumerate(elements) if matches(element, target.filter, attribute)
        ]
        if not hits:
            seed = element_from_filter(target.filter, attribute)
            if seed is None:
                raise NoTarget(f"The filter on {attribute.name} matches no value.")
            seed = (
                self.cleaner.clean_single(attribute, seed, where=where, dotted=attribute.name) or {}
            )
            elements.append(seed)
            hits = [len(elements) - 1]
        for i in hits:
            if target.sub is not None:
                cleaned = self._clean(
                    target.sub, value, where=where, dotted=f"{attribute.name}.{target.sub.name}"
                )
                updated = dict(elements[i])
                if cleaned is None:
                    updated.pop(target.sub.name, None)
                else:
                    updated[target.sub.name] = cleaned
            else:
                cleaned = self._clean(
                    attribute, value, where=where, dotted=attribute.name, single=True
                )
                updated = (
                    {**elements[i], **(cleaned or {})} if operation.op == "add" else (cleaned or {})
                )
            elements[i] = updated
        if attribute.multi_valued:
            if target.sub is not None and target.sub.name == "primary" and value is not None:
                elements = _single_primary(elements, keep=hits[-1])
            _store(container, attribute.name, _single_primary([e for e in elements if e]))
        else:
            _store(container, attribute.name, elements[0] or None)

    def _remove(self, document: dict, operation: Operation, target: _Target, value: object) -> None:
        attribute = target.attribute
        container = self._container(document, target, create=False)
        if container is None or attribute.name not in container:
            return  # removing what is not there changes nothing
        if target.filter is None and target.sub is None:
            if attribute.multi_valued and operation.has_value and value not in (None, [], ""):
                # Entra: `Remove` of `members`/`emails` with a list of values removes those.
                wanted = {
                    _identity(_value_of(w)) for w in (value if isinstance(value, list) else [value])
                }
                keep = [
                    element
                    for element in container[attribute.name]
                    if _value_of(element) is None or _identity(_value_of(element)) not in wanted
                ]
                _store(container, attribute.name, keep or None)
            elif (
                attribute.is_complex
                and not attribute.multi_valued
                and isinstance(value, dict)
                and value
            ):
                # remove manager with {"value": id}: only if it is that manager
                if _same_value(container[attribute.name], value):
                    container.pop(attribute.name)
            else:
                container.pop(attribute.name)
        elif target.filter is None:
            current = dict(container[attribute.name] or {})
            current.pop(target.sub.name, None)
            _store(container, attribute.name, current or None)
        elif attribute.multi_valued:
            elements = container[attribute.name]
            if target.sub is None:
                kept = [e for e in elements if not matches(e, target.filter, attribute)]
            else:
                kept = []
                for element in elements:
                    if matches(element, target.filter, attribute):
                        element = {k: v for k, v in element.items() if k != target.sub.name}
                    if element:
                        kept.append(element)
            _store(container, attribute.name, kept or None)
        else:
            current = container[attribute.name]
            if matches(current, target.filter, attribute):
                if target.sub is None:
                    container.pop(attribute.name)
                else:
                    updated = {k: v for k, v in current.items() if k != target.sub.name}
                    _store(container, attribute.name, updated or None)
        if target.resolved.is_extension and not container:
            document.pop(target.resolved.schema.id, None)

    # -- special attributes --

    def _password(self, result: PatchResult, operation: Operation, target: _Target) -> None:
        if target.filter is not None or target.sub is not None:
            raise InvalidPath("password has no sub-attributes.")
        if operation.op == "remove":
            result.password, result.password_removed = None, True
            return
        password = self.cleaner.clean_single(
            target.attribute, operation.value, where="password", dotted="password"
        )
        if password is None:
            result.password, result.password_removed = None, True
        else:
            result.password, result.password_removed = password, False

    def _members(self, result: PatchResult, operation: Operation, target: _Target) -> None:
        where = f"Operations[{operation.index}]"
        if target.sub is not None:
            raise InvalidPath(f"{where}: members can only be changed as a whole value.")
        if target.filter is not None:
            if operation.op != "remove":
                raise InvalidPath(f"{where}: a filter on members is only supported with remove.")
            result.member_changes.append(
                MemberChange("remove", member_ids_from_filter(target.filter))
            )
            return
        ids = self._member_ids(operation.value, where=where) if operation.has_value else []
        if operation.op == "remove":
            if ids:
                result.member_changes.append(MemberChange("remove", ids))
            elif not operation.has_value or operation.value in (None, [], ""):
                result.member_changes.append(MemberChange("replace", []))  # RFC: remove all
            return
        if operation.op == "add":
            if not operation.has_value:
                raise InvalidValue(f"{where}: add needs a value.")
            result.member_changes.append(MemberChange("add", ids))
        else:
            result.member_changes.append(MemberChange("replace", ids))

    def _member_ids(self, value: object, *, where: str) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if len(items) > self.max_members:
            raise TooMany(f"At most {self.max_members} members can change in one PATCH request.")
        ids = []
        for index, item in enumerate(items):
            member = _get(item, "value") if isinstance(item, dict) else item
            if not isinstance(member, str) or not member:
                raise InvalidValue(f"{where}.value[{index}] must carry the member's id in value.")
            ids.append(member)
        return ids


class _Clear:
    """Marker: the operation clears the attribute (manager set to "")."""


_CLEAR = _Clear()


def _store(container: dict, name: str, value: object) -> None:
    if value in (None, [], {}, ""):
        container.pop(name, None)
    else:
        container[name] = value


def _single_primary(elements: list, keep: int | None = None) -> list:
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


def _value_of(element: object) -> object:
    """The `value` of a complex value (any case of the key), or a simple value itself."""
    return _get(element, "value") if isinstance(element, dict) else element


def _same_value(element: object, wanted: object) -> bool:
    ours = _value_of(element)
    return ours is not None and ours == _value_of(wanted)


def _identity(item: object) -> str:
    """A hashable stand-in for a JSON value, equal for equal values whatever the key order."""
    return json.dumps(item, sort_keys=True, default=str)


def _union(current: list, added: list) -> list:
    """`current` followed by the `added` values it does not hold yet: linear, not quadratic,
    whatever the number of values."""
    seen = {_identity(item) for item in current}
    merged = list(current)
    for item in added:
        key = _identity(item)
        if key not in seen:
            seen.add(key)
            merged.append(item)
    return merged


def password_values(operations: list[Operation]) -> list[str]:
    """Every string a PATCH could set as the password, found without applying it.

    Lets the caller hash them before any row is locked. Over-approximates on purpose (any
    string under a `password` key, at any depth): hashing one string too many is harmless.
    """
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and key.lower() == "password" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for operation in operations:
        if operation.op == "remove":
            continue
        path = operation.path
        if path is not None and path.attr.attr.lower() == "password":
            if isinstance(operation.value, str):
                found.append(operation.value)
        else:
            walk(operation.value)
    return list(dict.fromkeys(found))


# --- value filters evaluated in memory ----------------------------------------------------------


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
    sub = _filter_sub(expr, attribute)
    actual = _get(element, sub.name)
    return _compare(actual, expr.op, expr.value, sub)


def _filter_sub(expr: Comparison, attribute: Attribute) -> Attribute:
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
        if isinstance(expected, str) and expected.lower() in ("true", "false"):
            expected = expected.lower() == "true"
        actual = bool(actual) if actual is not None else False
        if op == "eq":
            return actual is expected
        if op == "ne":
            return actual is not expected
        raise InvalidFilter(f"{sub.name} is a boolean: only eq, ne and pr apply.")
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


def element_from_filter(expr: Expr, attribute: Attribute) -> dict | None:
    """The value a filter of `eq`s describes (`type eq "work"` → `{"type": "work"}`), else None."""
    if isinstance(expr, And):
        left = element_from_filter(expr.left, attribute)
        right = element_from_filter(expr.right, attribute)
        if left is None or right is None:
            return None
        return {**left, **right}
    if isinstance(expr, Comparison) and expr.op == "eq":
        sub = _filter_sub(expr, attribute)
        return {sub.name: expr.value}
    return None


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
