"""SCIM documents: cleaning what clients send, and the small formats every document shares.

A *document* is a resource in SCIM JSON shape with canonical attribute names: core attributes at
the top level, extension attributes under their schema URN, absent values left out. Clients may
spell names in any case (RFC 7643 §2.1), send `null` for "no value" and add attributes we do not
know; cleaning turns all of that into one canonical form, or raises `InvalidValue` naming the
first problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kestra_iam.text import invisible_character
from scim.conf import scim_settings
from scim.exceptions import InvalidSyntax, InvalidValue, TooMany
from scim.quirks import coerce_boolean
from scim.schema import RESOURCE_TYPES, Attribute, ResourceType, resolve

_OTHER_CORE_SCHEMAS = {
    resource.schema.id: [other.schema.id for other in RESOURCE_TYPES if other is not resource]
    for resource in RESOURCE_TYPES
}

DEFAULT_MAX_LENGTH = 2048


def get_key(mapping: dict, name: str, default=None):
    """A member of a JSON object, its name in any case (RFC 7643 §2.1)."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return default


def has_key(mapping: dict, name: str) -> bool:
    lowered = name.lower()
    return any(isinstance(key, str) and key.lower() == lowered for key in mapping)


def timestamp(moment: datetime) -> str:
    """A SCIM `dateTime` (RFC 7643 §2.3.5), in UTC with a `Z`."""
    return moment.isoformat().replace("+00:00", "Z")


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
    """A name people and systems look up: no padding, and nothing invisible
    (`kestra_iam.text.invisible_character`)."""
    if value != value.strip():
        raise InvalidValue(f"{where} must not begin or end with whitespace.")
    if (ch := invisible_character(value)) is not None:
        raise InvalidValue(f"{where} contains an invisible or control character (U+{ord(ch):04X}).")
    return value


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
    # Multi-valued attributes whose every value must carry a sub-attribute, with what it is: a
    # group's member without a user id is refused, not dropped (an empty value would otherwise
    # be "unassigned" and leave the member out without a word).
    required_keys: dict[str, tuple[str, str]] = field(default_factory=dict)

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
            required = self.required_keys.get(dotted)
            for index, item in enumerate(value):
                cleaned = self.clean_single(
                    attribute, item, where=f"{where}[{index}]", dotted=dotted
                )
                if required and required[0] not in (cleaned or {}):
                    raise InvalidValue(
                        f"{where}[{index}].{required[0]} is missing or empty; it must be "
                        f"{required[1]}."
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
            return coerce_boolean(value, where=where)  # a client quirk, see scim.quirks
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
            schema = self.resource.schema_for_uri(key) if isinstance(key, str) else None
            if schema is not None and schema is not self.resource.schema:
                if value is not None and (extension := self._clean_extension(schema, value)):
                    document[schema.id] = extension
                continue
            resolved = resolve(self.resource, None, key) if isinstance(key, str) else None
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

    def _clean_extension(self, schema, value: object) -> dict:
        if not isinstance(value, dict):
            raise InvalidValue(f"{schema.id} must be an object.")
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
        return extension

    def check_schemas(self, payload: dict) -> None:
        """`schemas` may name extensions we do not know (Entra does), but not another resource."""
        schemas = get_key(payload, "schemas")
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
