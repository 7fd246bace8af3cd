"""The permission vocabulary of roles: resources and the actions allowed on them (Kestra RBAC)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import models


class Resource(models.TextChoices):
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


class Action(models.TextChoices):
    CREATE = "CREATE", "Create"
    READ = "READ", "Read"
    UPDATE = "UPDATE", "Update"
    DELETE = "DELETE", "Delete"


Permissions = dict[str, list[str]]


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
