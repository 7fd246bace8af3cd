"""Attribute definitions: the one description of what the SCIM service stores and understands.

They start from the RFC 7643 schema documents shipped with django-scim2 and are trimmed and
completed to exactly what this service stores. Discovery (`/Schemas`, `/ResourceTypes`), input
validation, PATCH paths, filters and projections all read these definitions, so what is
advertised is what works.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field, replace

from django_scim.constants import SchemaURI
from django_scim.schemas import ALL as RFC_SCHEMAS

USER_URN = SchemaURI.USER
GROUP_URN = SchemaURI.GROUP
ENTERPRISE_URN = SchemaURI.ENTERPRISE_USER
LIST_RESPONSE_URN = SchemaURI.LIST_RESPONSE
ERROR_URN = SchemaURI.ERROR
PATCH_OP_URN = SchemaURI.PATCH_OP
SEARCH_REQUEST_URN = SchemaURI.SERACH_REQUEST  # (sic) django-scim2's spelling
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = SchemaURI.RESOURCE_TYPE
SERVICE_PROVIDER_CONFIG_URN = SchemaURI.SERVICE_PROVIDER_CONFIG


def _by_name(attributes: tuple) -> dict:
    return {a.name.lower(): a for a in attributes}


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str  # string, boolean, decimal, integer, dateTime, reference, binary, complex
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly, readWrite, immutable, writeOnly
    returned: str = "default"  # always, never, default, request
    uniqueness: str = "none"
    description: str = ""
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        return self._subs_by_name.get(name.lower())

    @functools.cached_property
    def _subs_by_name(self) -> dict:
        """Sub-attributes by lower-case name, built once per attribute: looked up for every
        value of every document cleaned and rendered. (Keyed on the instance, not hashed: a
        frozen dataclass hashes all its fields, sub-attributes included, on every lookup.)"""
        return _by_name(self.sub_attributes)

    @property
    def is_complex(self) -> bool:
        return self.type == "complex"

    @property
    def is_writable(self) -> bool:
        return self.mutability in ("readWrite", "writeOnly", "immutable")

    def to_scim(self) -> dict:
        data = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.sub_attributes:
            data["subAttributes"] = [a.to_scim() for a in self.sub_attributes]
        if self.canonical_values:
            data["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            data["referenceTypes"] = list(self.reference_types)
        return data


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute | None:
        return self._attributes_by_name.get(name.lower())

    @functools.cached_property
    def _attributes_by_name(self) -> dict:
        """Built once per schema (see `Attribute._subs_by_name`)."""
        return _by_name(self.attributes)

    def to_scim(self, *, location: str, attributes: tuple[Attribute, ...] | None = None) -> dict:
        """The schema document; `attributes` (default: its own) is what discovery lists."""
        listed = self.attributes if attributes is None else attributes
        return {
            "schemas": [SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_scim() for a in listed],
            "meta": {"resourceType": "Schema", "location": location},
        }


@dataclass(frozen=True)
class ResourceType:
    id: str
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[Schema, ...] = field(default=())

    @property
    def schemas(self) -> tuple[Schema, ...]:
        return (self.schema, *self.extensions)

    def schema_for_uri(self, uri: str) -> Schema | None:
        lowered = uri.lower()
        return next((s for s in self.schemas if s.id.lower() == lowered), None)

    def to_scim(self, *, location: str) -> dict:
        return {
            "schemas": [RESOURCE_TYPE_URN],
            "id": self.id,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": [{"schema": s.id, "required": False} for s in self.extensions],
            "meta": {"resourceType": "ResourceType", "location": location},
        }


# --- building the definitions from the RFC documents -----------------------------------------


def _attribute(raw: dict) -> Attribute:
    return Attribute(
        name=raw["name"],
        type=raw["type"],
        multi_valued=bool(raw.get("multiValued", False)),
        required=bool(raw.get("required", False)),
        case_exact=bool(raw.get("caseExact", False)),
        mutability=raw.get("mutability") or "readWrite",
        returned=raw.get("returned") or "default",
        uniqueness=raw.get("uniqueness") or "none",
        description=raw.get("description", ""),
        sub_attributes=tuple(_attribute(s) for s in raw.get("subAttributes", ())),
        canonical_values=tuple(raw.get("canonicalValues", ())),
        reference_types=tuple(raw.get("referenceTypes", ())),
    )


def _rfc_schema(urn: str) -> Schema:
    raw = copy.deepcopy(next(s for s in RFC_SCHEMAS if s["id"] == urn))
    return Schema(
        id=raw["id"],
        name=raw.get("name", ""),
        description=raw.get("description", ""),
        attributes=tuple(_attribute(a) for a in raw["attributes"]),
    )


def _with_subs(attribute: Attribute, *subs: Attribute) -> Attribute:
    return replace(attribute, sub_attributes=(*attribute.sub_attributes, *subs))


def _build_user_schema() -> Schema:
    rfc = _rfc_schema(USER_URN)
    attributes = []
    for attribute in rfc.attributes:
        if attribute.name == "addresses" and attribute.sub("primary") is None:
            # RFC 7643 §4.1.2 gives addresses a `primary`; the schema document omits it.
            attribute = _with_subs(
                attribute,
                Attribute(
                    "primary",
                    "boolean",
                    description="A Boolean value indicating the 'primary' or preferred "
                    "attribute value for this attribute.",
                ),
            )
        if attribute.name == "groups":
            attribute = replace(
                attribute,
                sub_attributes=tuple(
                    replace(sub, mutability="readOnly") for sub in attribute.sub_attributes
                ),
            )
        if attribute.name == "active":
            attribute = replace(
                attribute,
                description="Whether the user may use this tenant. Per tenant: a user disabled "
                "here stays active in other tenants.",
            )
        if attribute.name == "password":
            attribute = replace(attribute, returned="never", mutability="writeOnly")
        attributes.append(attribute)
    return replace(rfc, attributes=tuple(attributes))


def _build_group_schema() -> Schema:
    rfc = _rfc_schema(GROUP_URN)
    attributes = []
    for attribute in rfc.attributes:
        if attribute.name == "displayName":
            attribute = replace(attribute, required=True, uniqueness="server")
        if attribute.name == "members":
            subs = []
            for sub in attribute.sub_attributes:
                if sub.name == "value":
                    sub = replace(sub, mutability="immutable", required=True)
                if sub.name == "type":
                    sub = replace(sub, canonical_values=("User",))
                if sub.name == "$ref":
                    sub = replace(sub, reference_types=("User",))
                subs.append(sub)
            subs.append(
                Attribute(
                    "display",
                    "string",
                    mutability="readOnly",
                    returned="request",
                    description="The member's displayName, or its userName when it has none "
                    "(returned when asked for with attributes=members.display).",
                )
            )
            attribute = replace(attribute, sub_attributes=tuple(subs))
        attributes.append(attribute)
    return replace(rfc, attributes=tuple(attributes))


def _build_enterprise_schema() -> Schema:
    rfc = _rfc_schema(ENTERPRISE_URN)
    attributes = []
    for attribute in rfc.attributes:
        if attribute.name == "manager":
            subs = []
            for sub in attribute.sub_attributes:
                if sub.name == "value":
                    sub = replace(sub, required=True)
                if sub.name == "displayName":
                    # Computed from the manager's profile, so only returned when asked for:
                    # a GET then returns exactly what the client wrote.
                    sub = replace(sub, mutability="readOnly", returned="request")
                subs.append(sub)
            attribute = replace(attribute, sub_attributes=tuple(subs))
        attributes.append(attribute)
    return replace(rfc, attributes=tuple(attributes))


USER_SCHEMA = _build_user_schema()
GROUP_SCHEMA = _build_group_schema()
ENTERPRISE_SCHEMA = _build_enterprise_schema()

USER_RESOURCE = ResourceType(
    id="User",
    name="User",
    endpoint="/Users",
    description="User Account",
    schema=USER_SCHEMA,
    extensions=(ENTERPRISE_SCHEMA,),
)
GROUP_RESOURCE = ResourceType(
    id="Group", name="Group", endpoint="/Groups", description="Group", schema=GROUP_SCHEMA
)
RESOURCE_TYPES = (USER_RESOURCE, GROUP_RESOURCE)
SCHEMAS = (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA)

# Attributes every resource has (RFC 7643 §3.1); not part of any schema's attribute list.
ID_ATTRIBUTE = Attribute(
    "id", "string", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"
)
EXTERNAL_ID_ATTRIBUTE = Attribute("externalId", "string", case_exact=True)
META_ATTRIBUTE = Attribute(
    "meta",
    "complex",
    mutability="readOnly",
    sub_attributes=(
        Attribute("resourceType", "string", case_exact=True, mutability="readOnly"),
        Attribute("created", "dateTime", mutability="readOnly"),
        Attribute("lastModified", "dateTime", mutability="readOnly"),
        Attribute("location", "reference", case_exact=True, mutability="readOnly"),
        Attribute("version", "string", case_exact=True, mutability="readOnly"),
    ),
)
COMMON_ATTRIBUTES = (ID_ATTRIBUTE, EXTERNAL_ID_ATTRIBUTE, META_ATTRIBUTE)


@dataclass(frozen=True)
class ResolvedPath:
    """An attribute path resolved against a resource type's schemas."""

    schema: Schema | None  # None for common attributes (id, externalId, meta)
    attribute: Attribute
    sub: Attribute | None = None

    @property
    def is_extension(self) -> bool:
        return (
            self.schema is not None and self.schema.id != USER_URN and self.schema.id != GROUP_URN
        )

    @property
    def dotted(self) -> str:
        return f"{self.attribute.name}.{self.sub.name}" if self.sub else self.attribute.name


def resolve(
    resource: ResourceType, uri: str | None, name: str, sub: str | None = None
) -> ResolvedPath | None:
    """Find `[uri:]name[.sub]` in a resource type, ignoring case; None if it is not there."""
    candidates: tuple[Schema, ...]
    if uri:
        schema = resource.schema_for_uri(uri)
        if schema is None:
            return None
        candidates = (schema,)
    else:
        candidates = resource.schemas
    for schema in candidates:
        attribute = schema.attribute(name)
        if attribute is not None:
            return _with_sub(ResolvedPath(schema, attribute), sub)
    if uri is None or uri.lower() == resource.schema.id.lower():
        lowered = name.lower()
        for attribute in COMMON_ATTRIBUTES:
            if attribute.name.lower() == lowered:
                return _with_sub(ResolvedPath(None, attribute), sub)
    return None


def _with_sub(path: ResolvedPath, sub: str | None) -> ResolvedPath | None:
    if sub is None:
        return path
    sub_attribute = path.attribute.sub(sub)
    if sub_attribute is None:
        return None
    return replace(path, sub=sub_attribute)
