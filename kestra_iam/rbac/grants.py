"""The rule of every access decision, as pure functions over grants (no database).

A *grant* is one role reaching one subject in one tenant, by one path: a binding of the subject
itself, a binding of a group it is a member of, or the tenant's default role. A permission is
allowed in a namespace when some grant's role holds it and the grant's scope covers the
namespace — and for a tenant-level resource (USERS, AUDITLOGS, …) only a tenant-wide grant
does. Whoever loads the grants (`kestra_iam.rbac.policy` for people and service accounts, the
SCIM authentication for an integration's own account) decides with `reasons_for`, so there is
one rule, written once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from kestra_iam.namespaces import covers
from kestra_iam.permissions import Action, Permission, Resource


class Source(StrEnum):
    DIRECT = "direct"  # a binding of the user or service account itself
    GROUP = "group"  # a binding of a group the user is a member of
    DEFAULT_ROLE = "default_role"  # the tenant's default role, held by every active member


@dataclass(frozen=True)
class Grant:
    """One role reaching a subject. `namespace` is the binding's scope, '' for the tenant."""

    source: Source
    role_id: int
    role_name: str
    permissions: frozenset[Permission]
    namespace: str = ""
    binding_id: int | None = None
    group_id: uuid.UUID | None = None
    group_name: str = ""

    def allows(self, permission: Permission, namespace: str) -> bool:
        if permission not in self.permissions:
            return False
        if not permission.namespaced:
            return self.namespace == ""
        return covers(self.namespace, namespace)

    def describe(self) -> str:
        """The grant in words, as the admin, the commands and the API's `why` say it."""
        where = f" on namespace {self.namespace}" if self.namespace else " tenant-wide"
        if self.source is Source.GROUP:
            return f"role {self.role_name}{where}, through group {self.group_name}"
        if self.source is Source.DEFAULT_ROLE:
            return f"role {self.role_name}, the tenant's default role"
        return f"role {self.role_name}{where}, bound directly"


def reasons_for(grants: Iterable[Grant], permission: Permission, namespace: str) -> list[Grant]:
    """The grants that allow `permission` in `namespace` ('' : the tenant as a whole); empty
    when it is denied."""
    return [grant for grant in grants if grant.allows(permission, namespace)]


def permissions_of(stored: Mapping | None) -> frozenset[Permission]:
    """A role's stored `{resource: [actions]}` as permissions. Entries outside the vocabulary
    (a role written around the validation, from the shell) grant nothing."""
    found = set()
    for resource, actions in (stored or {}).items():
        if resource not in Resource.values or not isinstance(actions, list | tuple):
            continue
        for action in actions:
            if action in Action.values:
                found.add(Permission(Resource(resource), Action(action)))
    return frozenset(found)


@dataclass(frozen=True)
class Effective:
    """One permission a subject holds, in one scope ('' : everywhere in the tenant), and the
    grants it comes from."""

    namespace: str
    permission: Permission
    reasons: tuple[Grant, ...]


def effective_permissions(grants: Iterable[Grant]) -> list[Effective]:
    """Everything the grants allow, by scope: tenant-wide first, then each namespace in order.

    A namespaced grant contributes only its namespaced permissions (the others need a
    tenant-wide grant), and a permission already held tenant-wide is not repeated under a
    namespace.
    """
    by_scope: dict[tuple[str, Permission], list[Grant]] = {}
    for grant in grants:
        for permission in grant.permissions:
            if grant.namespace and not permission.namespaced:
                continue
            by_scope.setdefault((grant.namespace, permission), []).append(grant)
    tenant_wide = {permission for scope, permission in by_scope if scope == ""}
    return [
        Effective(scope, permission, tuple(reasons))
        for (scope, permission), reasons in sorted(by_scope.items(), key=_scope_order)
        if scope == "" or permission not in tenant_wide
    ]


def _scope_order(item) -> tuple:
    (scope, permission), _ = item
    return (scope != "", scope, permission.resource.value, list(Action).index(permission.action))


@dataclass(frozen=True)
class Namespaces:
    """Where a subject holds a permission: the whole tenant, or these namespaces and
    everything below each."""

    tenant_wide: bool
    namespaces: tuple[str, ...]
    reasons: tuple[Grant, ...]


def namespaces_holding(grants: Iterable[Grant], permission: Permission) -> Namespaces:
    """The smallest list of namespaces that covers every place `permission` is held."""
    holding = [grant for grant in grants if permission in grant.permissions]
    if not permission.namespaced:
        holding = [grant for grant in holding if grant.namespace == ""]
    if any(grant.namespace == "" for grant in holding):
        return Namespaces(True, (), tuple(g for g in holding if g.namespace == ""))
    scopes = sorted({grant.namespace for grant in holding})
    roots = [s for s in scopes if not any(o != s and covers(o, s) for o in scopes)]
    return Namespaces(False, tuple(roots), tuple(holding))
