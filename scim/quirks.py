"""Every shape real SCIM clients send that the RFC does not define, turned into one it does.

This is the one place for client tolerances; the PATCH engine (`scim.patch`) and the cleaner
(`scim.documents`) only ever see RFC shapes. Each tolerance is unambiguous, so accepting it for
every client changes nothing for a client that follows the RFC:

1. Booleans as the strings "True"/"False" in any case (Entra ID without its compliance flag).
2. PATCH `op` in any case (`Add`, `Replace`, `Remove`) — in `scim.patch.parse_operations`.
3. A path-less `add`/`replace` whose keys are attribute paths (`name.givenName`) or extension
   URNs (`urn:…:enterprise:2.0:User:department`), and a path naming a whole extension; both are
   split into one operation per attribute. Echoed read-only keys are dropped: `schemas`,
   `meta` (Entra), and the resource's own `id` (Okta, with a rename).
4. `remove` of a multi-valued attribute *with* a value removes just those values (Entra's way
   of removing group members); `remove` of the manager with `{"value": id}` removes it only if
   it is that manager. The RFC defines no value on remove, so no RFC client is affected.
5. The manager given as a bare id, `{"value": id}` or `[{"value": id}]`, and cleared by `""`
   or a value-less object.
6. `replace`/`add` on a filtered path that matches nothing creates the element when the filter
   only states `eq` values (`emails[type eq "work"].value`), instead of `noTarget`.
7. `/Schemas` lists `externalId` among the core User and Group attributes
   (`advertised_attributes`). RFC 7643 §3.1 makes it a common attribute, outside every schema,
   but Microsoft's app-gallery SCIM validation fails a service whose schemas do not name it.
   An RFC client reads one more, accurate, attribute definition.
"""

from __future__ import annotations

from dataclasses import replace

from scim.exceptions import InvalidPath, InvalidValue, Mutability, NoTarget
from scim.expressions import And, AttrPath, Comparison, Expr, ExpressionError, Limits, PatchPath
from scim.expressions import parse_path as parse_path_expression
from scim.schema import (
    EXTERNAL_ID_ATTRIBUTE,
    GROUP_URN,
    USER_URN,
    Attribute,
    ResourceType,
    Schema,
    resolve,
)

_TRUE_STRINGS = {"true"}
_FALSE_STRINGS = {"false"}
ECHOED_READ_ONLY = ("schemas", "meta")


def coerce_boolean(value: object, *, where: str) -> bool:
    """Tolerance 1: JSON booleans, and the strings "true"/"false" in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS | _FALSE_STRINGS:
        return value.strip().lower() in _TRUE_STRINGS
    raise InvalidValue(f"{where} must be a boolean (true or false), got {value!r}.")


class OperationShapes:
    """Turns one PATCH operation, as sent, into operations on one attribute path each."""

    def __init__(self, resource: ResourceType, *, resource_id: str, limits: Limits) -> None:
        self.resource = resource
        self.resource_id = resource_id
        self.limits = limits

    def expand(self, operation) -> list:
        """Tolerances 3 to 5, applied to one operation."""
        return [self._value_shapes(op) for op in self._single_attribute(operation)]

    # -- tolerance 3: one attribute per operation --

    def _single_attribute(self, operation) -> list:
        where = f"Operations[{operation.index}]"
        extension = self._whole_extension(operation.path)
        if extension is not None:
            if operation.op == "remove":
                return [
                    replace(
                        operation, path=_path_of(extension, attribute), value=None, has_value=False
                    )
                    for attribute in extension.attributes
                ]
            if not isinstance(operation.value, dict):
                raise InvalidValue(f"{where}: the value of {extension.id} must be an object.")
            return self._keyed_items(operation, operation.value, prefix=f"{extension.id}:")
        if operation.path is not None:
            return [operation]
        if operation.op == "remove":
            raise NoTarget(f"{where}: remove needs a path.")
        if not isinstance(operation.value, dict):
            raise InvalidValue(f"{where}: without a path, value must be an object of attributes.")
        expanded = []
        for key, value in operation.value.items():
            schema = self.resource.schema_for_uri(key) if isinstance(key, str) else None
            if schema is None or schema is self.resource.schema:
                expanded.extend(self._keyed_items(operation, {key: value}))
            elif not isinstance(value, dict):
                raise InvalidValue(f"{where}: {key} must be an object.")
            else:  # {"urn:…:User": {"department": "x"}}
                expanded.extend(self._keyed_items(operation, value, prefix=f"{schema.id}:"))
        return expanded

    def _whole_extension(self, path: PatchPath | None) -> Schema | None:
        if path is None or path.filter is not None or path.attr.uri is None or path.attr.sub:
            return None
        schema = self.resource.schema_for_uri(f"{path.attr.uri}:{path.attr.attr}")
        return schema if schema is not None and schema is not self.resource.schema else None

    def _keyed_items(self, operation, items: dict, prefix: str = "") -> list:
        """One operation per key of a path-less value; keys are attribute paths."""
        expanded = []
        for key, value in items.items():
            if not isinstance(key, str) or key.lower() in ECHOED_READ_ONLY:
                continue
            if key.lower() == "id":
                if value == self.resource_id:
                    continue
                raise Mutability("id is read-only.")
            try:
                path = parse_path_expression(prefix + key, self.limits)
            except ExpressionError as exc:
                raise InvalidPath(f"{key!r} is not an attribute path: {exc}.") from None
            expanded.append(replace(operation, path=path, value=value, has_value=True))
        return expanded

    # -- tolerances 4 and 5: values --

    def _value_shapes(self, operation):
        attribute = self._whole_attribute(operation.path)
        if attribute is None:
            return operation
        if attribute.name == "manager" and attribute.is_complex and not attribute.multi_valued:
            operation = _manager_shape(operation)
        if operation.op == "remove" and operation.has_value:
            value = operation.value
            if (attribute.multi_valued and value not in (None, [], "")) or (
                isinstance(value, dict) and value
            ):
                return replace(operation, values_only=True)
        return operation

    def _whole_attribute(self, path: PatchPath | None) -> Attribute | None:
        """The attribute a path names as a whole (no filter, no sub-attribute), if known."""
        if path is None or path.filter is not None or path.attr.sub is not None:
            return None
        resolved = resolve(self.resource, path.attr.uri, path.attr.attr)
        return resolved.attribute if resolved is not None else None


def _path_of(schema: Schema, attribute: Attribute) -> PatchPath:
    return PatchPath(attr=AttrPath(uri=schema.id, attr=attribute.name))


def _manager_shape(operation):
    """Tolerance 5: "id", {"value": id}, [{"value": id}] → {"value": id}; "" clears."""
    value = operation.value
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and _value_of(value) in ("", None):
        # A value-less manager: clearing it, whatever the op says.
        return replace(operation, op="remove", value=None, has_value=False)
    return replace(operation, value=value)


def _value_of(element: dict) -> object:
    return next(
        (v for k, v in element.items() if isinstance(k, str) and k.lower() == "value"), None
    )


def element_for_unmatched_filter(expr: Expr, sub_of) -> dict | None:
    """Tolerance 6: the value a filter of `eq`s describes (`type eq "work"` →
    `{"type": "work"}`), created when a replace/add matches nothing; None otherwise.

    `sub_of(comparison)` is the engine's resolution of a value filter's sub-attribute (it
    refuses unknown ones), so a filter means the same here as when it matches.
    """
    if isinstance(expr, And):
        left = element_for_unmatched_filter(expr.left, sub_of)
        right = element_for_unmatched_filter(expr.right, sub_of)
        if left is None or right is None:
            return None
        return {**left, **right}
    if isinstance(expr, Comparison) and expr.op == "eq":
        return {sub_of(expr).name: expr.value}
    return None


def advertised_attributes(schema: Schema) -> tuple[Attribute, ...]:
    """What `/Schemas` lists for a schema: its own attributes, and externalId on the core User
    and Group schemas (tolerance 7)."""
    if schema.id in (USER_URN, GROUP_URN):
        return (EXTERNAL_ID_ATTRIBUTE, *schema.attributes)
    return schema.attributes
