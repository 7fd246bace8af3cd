"""The SCIM User resource: how its attributes map onto User, UserValue and TenantAccess.

A SCIM User in a tenant is a `TenantAccess` row (what the tenant's identity provider owns:
`externalId`, `active`) joined to the global `User` (the profile). Users queried through a
tenant are always TenantAccess rows, so every filter is scoped by construction.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import OuterRef, Prefetch, QuerySet
from django.db.models.functions import Greatest

from kestra_iam.models import GroupMembership, TenantAccess, User, UserValue
from kestra_iam.text import case_insensitive_key
from scim.documents import Cleaner
from scim.filters import Collection, FilterMap, Target
from scim.schema import ENTERPRISE_URN, USER_RESOURCE, USER_URN

# Single-valued attributes stored on User: SCIM dotted name → model field.
CORE_COLUMNS = {
    "userName": "user_name",
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
    return User._meta.get_field(name).max_length


MAX_LENGTHS = {
    **{attr: _field_length(f) for attr, f in CORE_COLUMNS.items()},
    **{f"name.{sub}": _field_length(f) for sub, f in NAME_COLUMNS.items()},
    **{attr: _field_length(f) for attr, f in ENTERPRISE_COLUMNS.items()},
    "externalId": TenantAccess._meta.get_field("external_id").max_length,
    "password": 4096,
    **{f"{attr}.type": UserValue._meta.get_field("type").max_length for attr in MULTI_VALUED},
    **{f"{attr}.display": UserValue._meta.get_field("display").max_length for attr in MULTI_VALUED},
}
CLEANER = Cleaner(USER_RESOURCE, MAX_LENGTHS, identifiers=frozenset({"userName"}))


# --- querying -----------------------------------------------------------------------------------


def user_queryset(tenant) -> QuerySet[TenantAccess]:
    """The tenant's users: one TenantAccess row each, with the user and its manager joined."""
    return (
        TenantAccess.objects.for_tenant(tenant)
        .select_related("user", "user__manager")
        .annotate(last_modified=Greatest("updated_at", "user__updated_at"))
    )


def with_details(queryset: QuerySet[TenantAccess], *, values: bool, groups: bool):
    """Prefetch what the response needs: multi-valued attributes, group memberships."""
    if values:
        queryset = queryset.prefetch_related(
            Prefetch("user__values", queryset=UserValue.objects.order_by("attribute", "position"))
        )
    if groups:
        queryset = queryset.prefetch_related(
            Prefetch(
                "memberships",
                queryset=GroupMembership.objects.select_related("group").order_by(
                    "group__display_name_key"
                ),
            )
        )
    return queryset


def _values_of(attribute: str):
    def related(outer: OuterRef) -> QuerySet:
        return UserValue.objects.filter(user_id=outer, attribute=attribute)

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


def _memberships(outer: OuterRef) -> QuerySet:
    return GroupMembership.objects.filter(access_id=outer)


FILTER_MAP = FilterMap(
    resource=USER_RESOURCE,
    targets={
        "id": Target("user_id", kind="uuid", case_exact=True),
        "externalid": Target("external_id", case_exact=True),
        "active": Target("active", kind="boolean"),
        "meta.created": Target("user__created_at", kind="datetime"),
        "meta.lastmodified": Target("last_modified", kind="datetime"),
        "username": Target("user__user_name", key="user__user_name_key"),
        **{
            attr.lower(): Target(f"user__{field}")
            for attr, field in CORE_COLUMNS.items()
            if attr != "userName"
        },
        **{f"name.{sub.lower()}": Target(f"user__{field}") for sub, field in NAME_COLUMNS.items()},
        **{attr.lower(): Target(f"user__{field}") for attr, field in ENTERPRISE_COLUMNS.items()},
        "manager.value": Target("user__manager_id", kind="fk", case_exact=True, empty=None),
        "manager.displayname": Target("user__manager__display_name"),
    },
    collections={
        **{
            attribute.lower(): Collection(
                _values_of(attribute), "user_id", _value_targets(attribute)
            )
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

# sortBy: single-valued attributes only (RFC 7644 §3.4.2.3); case-insensitive ones sort by key.
SORT_FIELDS = {
    "id": "user_id",
    "externalid": "external_id",
    "active": "active",
    "meta.created": "user__created_at",
    "meta.lastmodified": "last_modified",
    "username": "user__user_name_key",
    **{
        attr.lower(): f"user__{field}" for attr, field in CORE_COLUMNS.items() if attr != "userName"
    },
    **{f"name.{sub.lower()}": f"user__{field}" for sub, field in NAME_COLUMNS.items()},
    **{attr.lower(): f"user__{field}" for attr, field in ENTERPRISE_COLUMNS.items()},
}
DEFAULT_ORDER = ("pk",)  # creation order of the access: stable and index-backed


# --- documents ----------------------------------------------------------------------------------


def _element(row: UserValue) -> dict:
    element = dict(row.extra)
    for column in VALUE_COLUMNS:
        value = getattr(row, column)
        if value not in ("", None):
            element[column] = value
    return element


def user_document(access: TenantAccess, *, values: list[UserValue] | None = None) -> dict:
    """The user as a canonical document (no id/meta/groups; never the password)."""
    user = access.user
    document: dict = {}
    for attr, field in CORE_COLUMNS.items():
        if value := getattr(user, field):
            document[attr] = value
    name = {
        sub: getattr(user, field) for sub, field in NAME_COLUMNS.items() if getattr(user, field)
    }
    if name:
        document["name"] = name
    if access.external_id:
        document["externalId"] = access.external_id
    if access.active is not None:
        document["active"] = access.active
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in user.values.all() if values is None else values:
        grouped[row.attribute].append(_element(row))
    for attribute in MULTI_VALUED:
        if grouped.get(attribute):
            document[attribute] = grouped[attribute]
    enterprise = {
        attr: getattr(user, field)
        for attr, field in ENTERPRISE_COLUMNS.items()
        if getattr(user, field)
    }
    if user.manager_id:
        enterprise["manager"] = {"value": str(user.manager_id)}
    if enterprise:
        document[ENTERPRISE_URN] = enterprise
    return document


def render_user(access: TenantAccess, *, base_url: str) -> dict:
    """The full SCIM representation (before projection)."""
    user = access.user
    document = user_document(access)
    schemas = [USER_URN]
    enterprise = document.get(ENTERPRISE_URN)
    if enterprise is not None:
        schemas.append(ENTERPRISE_URN)
        manager = enterprise.get("manager")
        if manager is not None:
            manager["$ref"] = f"{base_url}/Users/{user.manager_id}"
            if user.manager is not None:
                manager["displayName"] = user.manager.display_name or user.manager.user_name
    if "memberships" in getattr(access, "_prefetched_objects_cache", {}):
        groups = [
            {
                "value": str(m.group_id),
                "$ref": f"{base_url}/Groups/{m.group_id}",
                "display": m.group.display_name,
                "type": "direct",
            }
            for m in access.memberships.all()
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
            "created": _timestamp(user.created_at),
            "lastModified": _timestamp(last_modified),
            "location": f"{base_url}/Users/{user.id}",
            "version": user_version(access),
        },
    }


def user_version(access: TenantAccess) -> str:
    return f'W/"{access.user.version}-{access.version}"'


def _timestamp(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- writing ------------------------------------------------------------------------------------


def user_fields(document: dict) -> dict:
    """Model field values for User from a document; absent attributes become empty."""
    fields = {field: document.get(attr, "") for attr, field in CORE_COLUMNS.items()}
    name = document.get("name", {})
    fields.update({field: name.get(sub, "") for sub, field in NAME_COLUMNS.items()})
    enterprise = document.get(ENTERPRISE_URN, {})
    fields.update({field: enterprise.get(attr, "") for attr, field in ENTERPRISE_COLUMNS.items()})
    return fields


def value_rows(user: User, document: dict) -> list[UserValue]:
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
                    user=user,
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


def manager_id(document: dict) -> str | None:
    manager = document.get(ENTERPRISE_URN, {}).get("manager")
    return manager.get("value") if manager else None
