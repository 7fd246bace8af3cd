"""The SCIM User resource: how its attributes map onto User, TenantAccess and UserValue.

A SCIM User in a tenant is a `TenantAccess` row — the tenant's own profile of the person:
everything its identity provider wrote but the identity — joined to the global `User` (`id`
and `userName`). Users queried through a tenant are always TenantAccess rows, so every filter
is scoped by construction, and matches only what that tenant wrote.

This module maps (columns, filters, sorting, cleaning) and renders; reading is
`scim.selectors`' job and writing `scim.services`'.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Greatest

from kestra_iam.models import GroupMembership, TenantAccess, User, UserValue
from kestra_iam.text import case_insensitive_key
from scim.documents import Cleaner, timestamp
from scim.filters import Collection, FilterMap, Target
from scim.schema import ENTERPRISE_URN, USER_RESOURCE, USER_URN

# Single-valued core attributes of a tenant's profile (TenantAccess): SCIM name → model field.
# `userName`, the identity, is the global User's.
CORE_COLUMNS = {
    "displayName": "display_name",
    "nickName": "nick_name",
    "profileUrl": "profile_url",
    "title": "title",
    "userType": "user_type",
    "preferredLanguage": "preferred_language",
    "locale": "locale",
    "timezone": "timezone",
}
NAME_COLUMNS = {
    "formatted": "name_formatted",
    "familyName": "name_family_name",
    "givenName": "name_given_name",
    "middleName": "name_middle_name",
    "honorificPrefix": "name_honorific_prefix",
    "honorificSuffix": "name_honorific_suffix",
}
ENTERPRISE_COLUMNS = {
    "employeeNumber": "employee_number",
    "costCenter": "cost_center",
    "organization": "organization",
    "division": "division",
    "department": "department",
}
MULTI_VALUED = tuple(UserValue.Attribute.values)
# Sub-attributes with a column of their own on UserValue; the rest go to `extra`.
VALUE_COLUMNS = ("value", "type", "primary", "display")
# Values compared case-insensitively get a canonical key if short enough for an index entry.
MAX_KEYED_VALUE = 512


def _field_length(name: str) -> int:
    return TenantAccess._meta.get_field(name).max_length


MAX_LENGTHS = {
    "userName": User._meta.get_field("user_name").max_length,
    **{attr: _field_length(f) for attr, f in CORE_COLUMNS.items()},
    **{f"name.{sub}": _field_length(f) for sub, f in NAME_COLUMNS.items()},
    **{attr: _field_length(f) for attr, f in ENTERPRISE_COLUMNS.items()},
    "externalId": TenantAccess._meta.get_field("external_id").max_length,
    "password": 4096,
    **{f"{attr}.type": UserValue._meta.get_field("type").max_length for attr in MULTI_VALUED},
    **{f"{attr}.display": UserValue._meta.get_field("display").max_length for attr in MULTI_VALUED},
}
CLEANER = Cleaner(
    USER_RESOURCE, MAX_LENGTHS, identifiers=frozenset({"userName"}), limit_values=True
)


# --- filtering and sorting ------------------------------------------------------------------


def _values_of(attribute: str):
    def related(outer: OuterRef) -> QuerySet:
        return UserValue.objects.filter(access_id=outer, attribute=attribute)

    return related


def _value_targets(attribute: str) -> dict[str, Target]:
    definition = USER_RESOURCE.schema.attribute(attribute)
    value_exact = definition.sub("value") is None or definition.sub("value").case_exact
    targets = {
        "type": Target("type"),
        "primary": Target("primary", kind="boolean"),
        "display": Target("display"),
    }
    if definition.sub("value") is not None:
        targets["value"] = Target(
            "value", case_exact=value_exact, key=None if value_exact else "value_key"
        )
    for sub in definition.sub_attributes:
        if sub.name not in VALUE_COLUMNS and sub.type == "string":
            targets[sub.name.lower()] = Target(f"extra__{sub.name}", case_exact=sub.case_exact)
    return targets


def _user_named(key: str) -> Q:
    """The access of the user whose userName has this canonical key: the user is found by its
    unique key, then the access by (tenant, user), with or without statistics. IN rather than
    `=`, so that NOT of it stays true when no user has the name."""
    return Q(user_id__in=Subquery(User.objects.filter(user_name_key=key).values("pk")))


def _memberships(outer: OuterRef) -> QuerySet:
    return GroupMembership.objects.filter(access_id=outer)


FILTER_MAP = FilterMap(
    resource=USER_RESOURCE,
    targets={
        "id": Target("user_id", kind="uuid", case_exact=True),
        "externalid": Target("external_id", case_exact=True),
        "active": Target("active", kind="boolean"),
        # The tenant's resource was created when the tenant got access: the view says nothing
        # of when, or whether, another tenant knew the person first.
        "meta.created": Target("created_at", kind="datetime"),
        # A user's lastModified is the later of its profile's and its access's.
        "meta.lastmodified": Target("updated_at", kind="datetime", also="user__updated_at"),
        "username": Target("user__user_name", key="user__user_name_key", equal=_user_named),
        **{attr.lower(): Target(field) for attr, field in CORE_COLUMNS.items()},
        **{f"name.{sub.lower()}": Target(field) for sub, field in NAME_COLUMNS.items()},
        **{attr.lower(): Target(field) for attr, field in ENTERPRISE_COLUMNS.items()},
        # The manager is another access of the same tenant, named as the tenant named it.
        "manager.value": Target("manager__user_id", kind="fk", case_exact=True, empty=None),
        "manager.displayname": Target("manager__display_name"),
    },
    collections={
        **{
            attribute.lower(): Collection(_values_of(attribute), "pk", _value_targets(attribute))
            for attribute in MULTI_VALUED
        },
        "groups": Collection(
            _memberships,
            "pk",
            {
                "value": Target("group_id", kind="uuid", case_exact=True),
                "display": Target("group__display_name", key="group__display_name_key"),
            },
        ),
    },
)

LAST_MODIFIED = "last_modified"  # an annotation, added by the selector when sorting on it

# sortBy: single-valued attributes only (RFC 7644 §3.4.2.3); case-insensitive ones sort by key.
SORT_FIELDS = {
    "id": "user_id",
    "externalid": "external_id",
    "active": "active",
    "meta.created": "created_at",
    "meta.lastmodified": LAST_MODIFIED,
    "username": "user__user_name_key",
    **{attr.lower(): field for attr, field in CORE_COLUMNS.items()},
    **{f"name.{sub.lower()}": field for sub, field in NAME_COLUMNS.items()},
    **{attr.lower(): field for attr, field in ENTERPRISE_COLUMNS.items()},
}
DEFAULT_ORDER = ("pk",)  # creation order of the access: stable and index-backed
LAST_MODIFIED_EXPRESSION = Greatest("updated_at", "user__updated_at")


# --- documents ----------------------------------------------------------------------------------


def _element(attribute_value: tuple) -> dict:
    """(value, type, primary, display, extra) → the SCIM value as written."""
    value, type_, primary, display, extra = attribute_value
    element = dict(extra)
    for column, item in zip(VALUE_COLUMNS, (value, type_, primary, display), strict=True):
        if item not in ("", None):
            element[column] = item
    return element


@dataclass
class UserRead:
    """A user as one tenant's SCIM sees it: the access (with its user) and what rendering
    needs beyond those rows, as plain tuples (`scim.selectors.scim_user_details` reads them;
    None is "not read yet", an empty list "read, or not wanted: none").
    """

    access: TenantAccess
    values: list[tuple] | None = None  # (attribute, value, type, primary, display, extra)
    groups: list[tuple] | None = None  # (group id, displayName)
    manager: tuple | None = None  # (user id, the name this tenant knows them by)


def user_document(read: UserRead) -> dict:
    """The user as the access's tenant sees it, as a canonical document (no id/meta/groups;
    never the password). Needs `scim_user_details` to have run."""
    access = read.access
    document: dict = {"userName": access.user.user_name}
    for attr, field in CORE_COLUMNS.items():
        if value := getattr(access, field):
            document[attr] = value
    name = {
        sub: getattr(access, field) for sub, field in NAME_COLUMNS.items() if getattr(access, field)
    }
    if name:
        document["name"] = name
    if access.external_id:
        document["externalId"] = access.external_id
    if access.active is not None:
        document["active"] = access.active
    grouped: dict[str, list[dict]] = defaultdict(list)
    for attribute, *rest in read.values:
        grouped[attribute].append(_element(tuple(rest)))
    for attribute in MULTI_VALUED:
        if grouped.get(attribute):
            document[attribute] = grouped[attribute]
    enterprise = {
        attr: getattr(access, field)
        for attr, field in ENTERPRISE_COLUMNS.items()
        if getattr(access, field)
    }
    if read.manager is not None:
        enterprise["manager"] = {"value": str(read.manager[0])}
    if enterprise:
        document[ENTERPRISE_URN] = enterprise
    return document


def render_user(read: UserRead, *, base_url: str) -> dict:
    """The full SCIM representation (before projection)."""
    access = read.access
    user = access.user
    document = user_document(read)
    schemas = [USER_URN]
    enterprise = document.get(ENTERPRISE_URN)
    if enterprise is not None:
        schemas.append(ENTERPRISE_URN)
        manager = enterprise.get("manager")
        if manager is not None:
            manager_id, manager_name = read.manager
            manager["$ref"] = f"{base_url}/Users/{manager_id}"
            manager["displayName"] = manager_name
    groups = [
        {
            "value": str(group_id),
            "$ref": f"{base_url}/Groups/{group_id}",
            "display": display_name,
            "type": "direct",
        }
        for group_id, display_name in read.groups or ()
    ]
    if groups:
        document["groups"] = groups
    last_modified = max(access.updated_at, user.updated_at)
    return {
        "schemas": schemas,
        "id": str(user.id),
        **document,
        "meta": {
            "resourceType": "User",
            "created": timestamp(access.created_at),
            "lastModified": timestamp(last_modified),
            "location": f"{base_url}/Users/{user.id}",
            "version": user_version(access),
        },
    }


def user_version(access: TenantAccess) -> str:
    return f'W/"{access.user.version}-{access.version}"'


# --- writing ------------------------------------------------------------------------------------


def profile_fields(document: dict) -> dict:
    """TenantAccess profile field values from a document; absent attributes become empty."""
    fields = {field: document.get(attr, "") for attr, field in CORE_COLUMNS.items()}
    name = document.get("name", {})
    fields.update({field: name.get(sub, "") for sub, field in NAME_COLUMNS.items()})
    enterprise = document.get(ENTERPRISE_URN, {})
    fields.update({field: enterprise.get(attr, "") for attr, field in ENTERPRISE_COLUMNS.items()})
    return fields


def value_rows(access: TenantAccess, document: dict) -> list[UserValue]:
    """UserValue rows for every multi-valued attribute of a document, in order."""
    rows = []
    for attribute in MULTI_VALUED:
        definition = USER_RESOURCE.schema.attribute(attribute)
        value_sub = definition.sub("value")
        keyed = value_sub is not None and not value_sub.case_exact
        for position, element in enumerate(document.get(attribute, ())):
            value = element.get("value", "")
            rows.append(
                UserValue(
                    access=access,
                    attribute=attribute,
                    position=position,
                    value=value,
                    value_key=(
                        case_insensitive_key(value)
                        if keyed and len(value) <= MAX_KEYED_VALUE
                        else ""
                    ),
                    type=element.get("type", ""),
                    primary=element.get("primary"),
                    display=element.get("display", ""),
                    extra={k: v for k, v in element.items() if k not in VALUE_COLUMNS},
                )
            )
    return rows


def value_tuples(rows: list[UserValue]) -> list[tuple]:
    """UserValue rows in the shape `scim.selectors.scim_user_details` loads them."""
    return [(r.attribute, r.value, r.type, r.primary, r.display, r.extra) for r in rows]


def manager_id(document: dict) -> str | None:
    manager = document.get(ENTERPRISE_URN, {}).get("manager")
    return manager.get("value") if manager else None
