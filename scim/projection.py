"""Which attributes a response carries: `attributes`, `excludedAttributes` (RFC 7644 §3.4.2.5)."""

from __future__ import annotations

from dataclasses import dataclass

from scim.expressions import ExpressionError, parse_attribute_list
from scim.schema import COMMON_ATTRIBUTES, Attribute, ResourceType, resolve


@dataclass(frozen=True)
class Projection:
    """Which attributes a response carries (RFC 7644 §3.4.2.5).

    Names are resolved against the resource type; names we do not know are ignored. Keys are
    `(schema id or "", attribute name, sub-attribute name or None)`.
    """

    resource: ResourceType
    included: frozenset[tuple[str, str, str | None]] | None = None
    excluded: frozenset[tuple[str, str, str | None]] = frozenset()

    @classmethod
    def from_params(cls, resource: ResourceType, params: dict) -> Projection:
        """From a request's `attributes` and `excludedAttributes` (query or SearchRequest)."""
        attributes, excluded = params.get("attributes"), params.get("excludedAttributes")
        return cls(
            resource,
            included=_resolve_names(resource, attributes) if attributes else None,
            excluded=_resolve_names(resource, excluded) if excluded else frozenset(),
        )

    def wants_attribute(self, name: str) -> bool:
        """Whether a core attribute of the resource (`members`, `emails` …) is in the response."""
        attribute = self.resource.schema.attribute(name)
        return self.wants("", attribute.name, attribute)

    def wants(self, schema_id: str, name: str, attribute: Attribute) -> bool:
        """Whether the top-level attribute appears in the response at all."""
        if attribute.returned == "never":
            return False
        if attribute.returned == "always":
            return True
        key = (schema_id, name, None)
        if self.included is not None:
            return any(k[0] == schema_id and k[1] == name for k in self.included)
        if attribute.returned == "request":
            return False
        return key not in self.excluded

    def wants_sub(self, schema_id: str, name: str, sub: Attribute) -> bool:
        if sub.returned == "never":
            return False
        if sub.returned == "always":
            return True
        if sub.returned == "request":
            return self.included is not None and (schema_id, name, sub.name) in self.included
        if self.included is not None:
            if (schema_id, name, None) in self.included:
                return True
            return (schema_id, name, sub.name) in self.included
        return (schema_id, name, sub.name) not in self.excluded

    def apply(self, document: dict) -> dict:
        """Filter a rendered resource; `schemas` and `id` always stay.

        `schemas` keeps the core schema and the extensions whose attributes remain.
        """
        result = {}
        for key, value in document.items():
            if key in ("schemas", "id"):
                result[key] = value
                continue
            schema = self.resource.schema_for_uri(key)
            if schema is not None and schema is not self.resource.schema:
                inner = {
                    name: sub_value
                    for name, sub_value in value.items()
                    if (attribute := schema.attribute(name)) is not None
                    and self.wants(schema.id, attribute.name, attribute)
                }
                inner = {
                    name: self._project_complex(schema.id, schema.attribute(name), sub_value)
                    for name, sub_value in inner.items()
                }
                if inner:
                    result[key] = inner
                continue
            attribute = self._top_level(key)
            if attribute is None or not self.wants("", attribute.name, attribute):
                continue
            result[key] = self._project_complex("", attribute, value)
        if "schemas" in result:
            result["schemas"] = [
                urn for urn in result["schemas"] if urn == self.resource.schema.id or urn in result
            ]
        return result

    def _top_level(self, name: str) -> Attribute | None:
        attribute = self.resource.schema.attribute(name)
        if attribute is not None:
            return attribute
        return next((a for a in COMMON_ATTRIBUTES if a.name == name), None)

    def _project_complex(self, schema_id: str, attribute: Attribute, value: object) -> object:
        if not attribute.is_complex:
            return value

        def project(item: dict) -> dict:
            return {
                k: v
                for k, v in item.items()
                if (sub := attribute.sub(k)) is None
                or self.wants_sub(schema_id, attribute.name, sub)
            }

        if isinstance(value, list):
            return [project(item) for item in value]
        return project(value) if isinstance(value, dict) else value


def _resolve_names(resource: ResourceType, text: str) -> frozenset[tuple[str, str, str | None]]:
    try:
        paths = parse_attribute_list(text)
    except ExpressionError:
        return frozenset()
    keys = set()
    for path in paths:
        resolved = resolve(resource, path.uri, path.attr, path.sub)
        if resolved is None:
            continue
        schema_id = resolved.schema.id if resolved.is_extension else ""
        keys.add((schema_id, resolved.attribute.name, resolved.sub.name if resolved.sub else None))
    return frozenset(keys)
