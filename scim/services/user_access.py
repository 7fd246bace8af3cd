"""Which access a SCIM user write acts on: found by the user's id in the tenant, locked (or
not), with the profile's owner alongside — and refused for an administrator of the instance,
whom provisioning reads but never writes."""

from __future__ import annotations

import uuid

from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import Tenant, TenantAccess
from kestra_iam.ownership import is_administrator, owner_tenant_subquery
from scim.exceptions import Forbidden, NotFound
from scim.services.locking import first_locked

ADMINISTRATOR = (
    "This user is an administrator of this instance; administrators are managed in the admin "
    "site, not by provisioning."
)


def user_pk(user_id: str) -> uuid.UUID:
    """The user's id from a URL; an id that is not one is a user that does not exist."""
    pk = parse_uuid(user_id)
    if pk is None:
        raise NotFound()
    return pk


def locked_access(tenant: Tenant, user_id: str, *, for_delete: bool = False) -> TenantAccess:
    """The access (and user) rows, locked for this transaction, with the profile's owner.

    Edits take FOR NO KEY UPDATE, which does not conflict with the KEY SHARE lock a concurrent
    membership insert takes on the access, so user PATCHes and group PATCHes do not wait on each
    other; a deletion takes FOR UPDATE. Administrators are found, then refused: reading them is
    allowed, writing them is not.
    """
    pk = user_pk(user_id)
    access = first_locked(
        accesses_with_owner(tenant, pk),
        key=("access", tenant.pk, pk),
        of=("self", "user"),
        no_key=not for_delete,
    )
    return writable(access)


def access_of(tenant: Tenant, user_id: str) -> TenantAccess:
    """`locked_access` without the lock."""
    return writable(accesses_with_owner(tenant, user_pk(user_id)).first())


def accesses_with_owner(tenant: Tenant, user_pk: uuid.UUID):
    return (
        TenantAccess.objects.for_tenant(tenant)
        .select_related("user")
        .annotate(owner_tenant_id=owner_tenant_subquery())
        .filter(user_id=user_pk)
    )


def writable(access: TenantAccess | None) -> TenantAccess:
    if access is None:
        raise NotFound()
    if is_administrator(access.user):
        raise Forbidden(ADMINISTRATOR)
    return access
