"""SCIM documents: cleaning what clients send, and projecting what we return.

A *document* is a resource in SCIM JSON shape with canonical attribute names: core attributes at
the top level, extension attributes under their schema URN, absent values left out. Clients may
spell names in any case (RFC 7643 §2.1), send `null` for "no value" and add attributes we do not
know; cleaning turns all of that into one canonical form, or raises `InvalidValue` naming the
first problem.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from scim.conf import scim_settings
from scim.exceptions import InvalidSyntax, InvalidValue, TooMany
from scim.expressions import ExpressionError, parse_attribute_list
from scim.schema import COMMON_ATTRIBUTES, RESOURCE_TYPES, Attribute, ResourceType, resolve

_OTHER_CORE_SCHEMAS = {
    resource.schema.id: [other.schema.id for other in RESOURCE_TYPES if other is not resource]
    for resource in RESOURCE_TYPES
}

_TRUE_STRINGS = {"true"}
_FALSE_STRINGS = {"false"}
DEFAULT_MAX_LENGTH = 2048


def check_text(value: str, *, where: str, max_length: int | None = DEFAULT_MAX_LENGTH) -> str:
    """A string that PostgreSQL and SQLite can both store, within a length bound."""
    if "\x00" in value:
        raise InvalidValue(f"{where} contains a NUL character.")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise InvalidValue(f"{where} contains an unpaired surrogate (invalid Unicode).")
    if max_length is not None and len(value) > max_length:
        raise InvalidValue(f"{where} is longer than {max_length} characters.")
    return value


def check_identifier(value: str, *, where: str) -> str:
    """A name people and systems look up: no invisible or control characters, no padding.

    Format characters (right-to-left overrides, zero-width joiners) make two names that look the
    same compare different, which is how look-alike accounts are made (RFC 8264 disallows them
    in identifiers).
    """
    if value != value.strip():
        raise InvalidValue(f"{where} must not begin or end with whitespace.")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf"):
            raise InvalidValue(
                f"{where} contains an invisible or control character (U+{ord(ch):04X})."
            )
    return value


def coerce_boolean(value: object, *, where: str) -> bool:
    """JSON booleans, and the strings "true"/"false" in any case.

    Microsoft Entra ID sends `"True"`/`"False"` for `active` unless its compliance flag is set;
    the strings are unambiguous, so they are read as booleans for every client.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS | _FALSE_STRINGS:
        return value.strip().lower() in _TRUE_STRINGS
    raise InvalidValue(f"{where} must be a boolean (true or false), got {value!r}.")


@dataclass(frozen=True)
class Cleaner:
    """Cleans values of one resource type against its attribute definitions.

    `max_lengths` maps a dotted attribute name (`userName`, `name.givenName`) to the length its
    column can hold; other strings get DEFAULT_MAX_LENGTH, binary values `binary_max_length`.
    """

    resource: ResourceType
    max_lengths: dict[str, int]
    binary_max_length: int = 16384
    identifiers: frozenset[str] = field(default_factory=frozenset)  # e.g. userName
    # Whether multi-valued attributes hold at most `SCIM_MAX_VALUES` values (users' emails,
    # phone numbers …; a group's members are bounded by `SCIM_MAX_MEMBERS` instead).
    limit_values: bool = False

    def check_value_count(self, attribute: Attribute, count: int, *, where: str) -> None:
        """Refuse more values than a multi-valued attribute may hold (`400 tooMany`)."""
        if not self.limit_values:
            return
        limit = scim_settings().max_values
        if count > limit:
            raise TooMany(f"{where} has {count} values; at most {limit} are accepted.")

    def clean_value(
        self, attribute: Attribute, value: object, *, where: str, dotted: str
    ) -> object:
        """A cleaned value, or None when the client means "no value"."""
        if value is None:
            return None
        if attribute.multi_valued:
            if not isinstance(value, list):
                raise InvalidValue(f"{where} must be an array.")
            self.check_value_count(attribute, len(value), where=where)
            items = []
            for index, item in enumerate(value):
                cleaned = self.clean_single(
                    attribute, item, where=f"{where}[{index}]", dotted=dotted
                )
                if cleaned is not None and cleaned != {}:
                    items.append(cleaned)
            if attribute.is_complex and sum(1 for i in items if i.get("primary") is True) > 1:
                raise InvalidValue(f"{where} has more than one value marked primary.")
            return items or None
        return self.clean_single(attribute, value, where=where, dotted=dotted)

    def clean_single(
        self, attribute: Attribute, value: object, *, where: str, dotted: str
    ) -> object:
        if value is None:
            return None
        if attribute.is_complex:
            if not isinstance(value, dict):
                raise InvalidValue(f"{where} must be an object.")
            result = {}
            for key, sub_value in value.items():
                sub = attribute.sub(key) if isinstance(key, str) else None
                if sub is None or sub.mutability == "readOnly":
                    continue  # unknown or server-computed sub-attributes are ignored
                cleaned = self.clean_single(
                    sub, sub_value, where=f"{where}.{sub.name}", dotted=f"{dotted}.{sub.name}"
                )
                if cleaned is not None:
                    result[sub.name] = cleaned
            return result or None
        return self.clean_scalar(attribute, value, where=where, dotted=dotted)

    def clean_scalar(
        self, attribute: Attribute, value: object, *, where: str, dotted: str
    ) -> object:
        if attribute.type == "boolean":
            return coerce_boolean(value, where=where)
        if attribute.type in ("string", "reference", "binary"):
            if not isinstance(value, str):
                raise InvalidValue(f"{where} must be a string, got {type(value).__name__}.")
            limit = (
                self.binary_max_length
                if attribute.type == "binary"
                else self.max_lengths.get(dotted, DEFAULT_MAX_LENGTH)
            )
            text = check_text(value, where=where, max_length=limit)
            if dotted in self.identifiers and text != "":
                check_identifier(text, where=where)
            return text if text != "" else None  # RFC 7643 §2.5: empty means unassigned
        if attribute.type == "dateTime":
            if not isinstance(value, str):
                raise InvalidValue(f"{where} must be a date-time string.")
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidValue(f"{where} is not an ISO 8601 date-time: {value!r}.") from None
            return value
        if attribute.type == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidValue(f"{where} must be an integer.")
            return value
        if attribute.type == "decimal":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidValue(f"{where} must be a number.")
            return value
        raise InvalidValue(f"{where} has an unsupported type.")

    def clean_resource(self, payload: object) -> dict:
        """Clean a whole POST/PUT body into a document (read-only attributes dropped)."""
        if not isinstance(payload, dict):
            raise InvalidValue("The body must be a JSON object.")
        self.check_schemas(payload)
        document: dict = {}
        for key, value in payload.items():
            if not isinstance(key, str):
                continue
            schema = self.resource.schema_for_uri(key)
            if schema is not None and schema is not self.resource.schema:
                if value is None:
                    continue
                if not isinstance(value, dict):
                    raise InvalidValue(f"{key} must be an object.")
                extension = {}
                for name, sub_value in value.items():
                    attribute = schema.attribute(name) if isinstance(name, str) else None
                    if attribute is None or not attribute.is_writable:
                        continue
                    cleaned = self.clean_value(
                        attribute, sub_value, where=attribute.name, dotted=attribute.name
                    )
                    if cleaned is not None:
                        extension[attribute.name] = cleaned
                if extension:
                    document[schema.id] = extension
                continue
            resolved = resolve(self.resource, None, key)
            if resolved is None or resolved.is_extension or not resolved.attribute.is_writable:
                continue  # unknown attributes, id, meta, groups: ignored
            attribute = resolved.attribute
            cleaned = self.clean_value(
                attribute, value, where=attribute.name, dotted=attribute.name
            )
            if cleaned is not None:
                document[attribute.name] = cleaned
        for attribute in self.resource.schema.attributes:
            if attribute.required and attribute.name not in document:
                raise InvalidValue(f"{attribute.name} is required.")
        return document

    def check_schemas(self, payload: dict) -> None:
        """`schemas` may name extensions we do not know (Entra does), but not another resource."""
        schemas = next(
            (v for k, v in payload.items() if isinstance(k, str) and k.lower() == "schemas"), None
        )
        if schemas is None:
            return
        if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
            raise InvalidSyntax("schemas must be an array of schema URIs.")
        core = self.resource.schema.id
        others = {other.lower() for other in _OTHER_CORE_SCHEMAS[core]}
        if core not in schemas and any(s.lower() in others for s in schemas):
            raise InvalidSyntax(
                f"schemas does not name {core}: this endpoint takes {self.resource.name} resources."
            )


# --- projection (attributes / excludedAttributes) ----------------------------------------------


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
    def from_params(
        cls, resource: ResourceType, attributes: str | None, excluded: str | None
    ) -> Projection:
        return cls(
            resource,
            included=_resolve_names(resource, attributes) if attributes else None,
            excluded=_resolve_names(resource, excluded) if excluded else frozenset(),
        )

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
