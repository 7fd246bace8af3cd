"""The permission vocabulary of roles: resources, the actions allowed on them, and which of them
a namespace can limit (Kestra EE's RBAC, as of 0.24).

Names follow this project's plural spelling (`FLOWS`, `USERS`); Kestra's own singular names
(`FLOW`, `USER`, `SERVICE_ACCOUNT`) are read as aliases wherever a permission is typed in, so the
platform can ask in its own words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models


class Resource(models.TextChoices):
    # The first eleven are the original vocabulary; new ones are appended so that stored roles
    # keep their canonical order.
    USERS = "USERS", "Users"
    GROUPS = "GROUPS", "Groups"
    ROLES = "ROLES", "Roles"
    BINDINGS = "BINDINGS", "Bindings"
    FLOWS = "FLOWS", "Flows"
    EXECUTIONS = "EXECUTIONS", "Executions"
    NAMESPACES = "NAMESPACES", "Namespaces"
    KVSTORE = "KVSTORE", "KV store"
    SECRETS = "SECRETS", "Secrets"
    AUDITLOGS = "AUDITLOGS", "Audit logs"
    SETTINGS = "SETTINGS", "Settings"
    TEMPLATES = "TEMPLATES", "Templates"
    DASHBOARDS = "DASHBOARDS", "Dashboards"
    BLUEPRINTS = "BLUEPRINTS", "Blueprints"
    IMPERSONATE = "IMPERSONATE", "Impersonate"
    APPS = "APPS", "Apps"
    APPEXECUTIONS = "APPEXECUTIONS", "App executions"
    TESTS = "TESTS", "Tests"
    ASSETS = "ASSETS", "Assets"
    SERVICE_ACCOUNTS = "SERVICE_ACCOUNTS", "Service accounts"
    INVITATIONS = "INVITATIONS", "Invitations"
    GROUP_MEMBERSHIPS = "GROUP_MEMBERSHIPS", "Group memberships"
    TENANT_ACCESS = "TENANT_ACCESS", "Tenant access"


class Action(models.TextChoices):
    CREATE = "CREATE", "Create"
    READ = "READ", "Read"
    UPDATE = "UPDATE", "Update"
    DELETE = "DELETE", "Delete"


# What lives in a namespace: a binding limited to `a.b` grants these in `a.b` and below. Every
# other resource belongs to the tenant as a whole (its IAM, audit logs, settings, dashboards,
# blueprints, impersonation) and is granted only by a binding without a namespace.
NAMESPACED_RESOURCES = frozenset(
    {
        Resource.FLOWS,
        Resource.EXECUTIONS,
        Resource.TEMPLATES,
        Resource.NAMESPACES,
        Resource.KVSTORE,
        Resource.SECRETS,
        Resource.APPS,
        Resource.APPEXECUTIONS,
        Resource.TESTS,
        Resource.ASSETS,
    }
)

# Kestra's own spelling of each resource, where it differs from ours.
KESTRA_NAMES = {
    "USER": Resource.USERS,
    "GROUP": Resource.GROUPS,
    "ROLE": Resource.ROLES,
    "BINDING": Resource.BINDINGS,
    "FLOW": Resource.FLOWS,
    "EXECUTION": Resource.EXECUTIONS,
    "NAMESPACE": Resource.NAMESPACES,
    "SECRET": Resource.SECRETS,
    "AUDITLOG": Resource.AUDITLOGS,
    "SETTING": Resource.SETTINGS,
    "TEMPLATE": Resource.TEMPLATES,
    "DASHBOARD": Resource.DASHBOARDS,
    "BLUEPRINT": Resource.BLUEPRINTS,
    "APP": Resource.APPS,
    "APPEXECUTION": Resource.APPEXECUTIONS,
    "TEST": Resource.TESTS,
    "ASSET": Resource.ASSETS,
    "SERVICE_ACCOUNT": Resource.SERVICE_ACCOUNTS,
    "INVITATION": Resource.INVITATIONS,
    "GROUP_MEMBERSHIP": Resource.GROUP_MEMBERSHIPS,
}

Permissions = dict[str, list[str]]

# Every accepted name, looked up once per permission parsed: TextChoices' `values` builds its
# list anew at each call, which a batch of a thousand checks would pay for every item.
RESOURCE_NAMES: dict[str, Resource] = {**KESTRA_NAMES, **{r.value: r for r in Resource}}
ACTION_NAMES: dict[str, Action] = {a.value: a for a in Action}


@dataclass(frozen=True, order=True)
class Permission:
    """One resource:action pair, the unit every access decision is about."""

    resource: Resource
    action: Action

    def __str__(self) -> str:
        return f"{self.resource.value}:{self.action.value}"

    @property
    def namespaced(self) -> bool:
        return self.resource in NAMESPACED_RESOURCES

    @classmethod
    def parse(cls, text: object) -> Permission:
        """`FLOWS:UPDATE` (any case, Kestra's singular names accepted) → Permission; a
        ValidationError that says what is wrong otherwise."""
        if not isinstance(text, str) or text.count(":") != 1:
            raise ValidationError(
                f"A permission is written RESOURCE:ACTION, e.g. FLOWS:UPDATE (got {text!r}).",
                code="invalid_permission",
            )
        resource_name, action_name = (part.strip().upper() for part in text.split(":"))
        resource = resource_of(resource_name)
        action = ACTION_NAMES.get(action_name)
        if action is None:
            raise ValidationError(
                f"Unknown action {action_name!r}: one of {', '.join(ACTION_NAMES)}.",
                code="unknown_action",
            )
        return cls(resource, action)


def resource_of(name: str) -> Resource:
    """The resource called `name`, in our spelling or Kestra's."""
    resource = RESOURCE_NAMES.get(name)
    if resource is None:
        raise ValidationError(f"Unknown resource {name!r}.", code="unknown_resource")
    return resource


def normalise_permissions(raw: object) -> Permissions:
    """Validate `{resource: [actions]}` and return it in canonical order without duplicates.

    Raises ValidationError naming the first unknown resource or action, so an admin form or a
    command can show it as is.
    """
    if not isinstance(raw, Mapping):
        raise ValidationError("Permissions must be a mapping of resource to a list of actions.")
    result: Permissions = {}
    for resource, actions in raw.items():
        if resource not in Resource.values:
            raise ValidationError(f"Unknown resource {resource!r}.", code="unknown_resource")
        if isinstance(actions, str) or not isinstance(actions, Iterable):
            raise ValidationError(f"Actions of {resource} must be a list.", code="invalid")
        for action in actions:
            if action not in Action.values:
                raise ValidationError(
                    f"Unknown action {action!r} on {resource}.", code="unknown_action"
                )
        chosen = [action for action in Action.values if action in set(actions)]
        if chosen:
            result[resource] = chosen
    return {resource: result[resource] for resource in Resource.values if resource in result}


def permission_pairs(permissions: Permissions) -> list[str]:
    """`{"USERS": ["READ"]}` → `["USERS:READ"]`, the form the admin's checkboxes use."""
    return [
        f"{resource}:{action}" for resource, actions in permissions.items() for action in actions
    ]


def permissions_from_pairs(pairs: Iterable[str]) -> Permissions:
    grouped: dict[str, list[str]] = {}
    for pair in pairs:
        resource, _, action = pair.partition(":")
        grouped.setdefault(resource, []).append(action)
    return normalise_permissions(grouped)


def every_permission() -> Permissions:
    """Every action on every resource: what the Admin role grants."""
    return {resource: list(Action.values) for resource in Resource.values}
