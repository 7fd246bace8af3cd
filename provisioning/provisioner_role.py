"""The tenant's SCIMProvisioner role: what it grants, and finding it.

Every integration of a tenant is bound to it; the bootstrap creates it, readiness checks it,
repair restores it, and the role admin warns before it is changed.
"""

from __future__ import annotations

from kestra_iam.models import Role
from kestra_iam.permissions import Action, Resource, permission_pairs

SCIM_PROVISIONER_ROLE = "SCIMProvisioner"
# Exactly what Kestra documents. USERS has no DELETE: a SCIM DELETE only removes the user's
# access to the tenant, which is an UPDATE of the user as far as the tenant is concerned.
SCIM_PROVISIONER_PERMISSIONS = {
    Resource.USERS.value: [Action.CREATE.value, Action.READ.value, Action.UPDATE.value],
    Resource.GROUPS.value: [
        a.value for a in (Action.CREATE, Action.READ, Action.UPDATE, Action.DELETE)
    ],
    Resource.BINDINGS.value: [
        a.value for a in (Action.CREATE, Action.READ, Action.UPDATE, Action.DELETE)
    ],
}
# The same, as "RESOURCE:ACTION" pairs: what a role must grant, no more and no less.
NEEDED_GRANTS = frozenset(permission_pairs(SCIM_PROVISIONER_PERMISSIONS))


def provisioner_role(tenant_id: str) -> Role | None:
    """The tenant's SCIMProvisioner role, if it still exists."""
    return Role.objects.filter(tenant_id=tenant_id, name=SCIM_PROVISIONER_ROLE).first()


def grants_exactly_what_scim_needs(role: Role) -> bool:
    return set(permission_pairs(role.permissions or {})) == NEEDED_GRANTS
