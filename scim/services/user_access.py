"""Which access a SCIM user write acts on: found by the user's id in the tenant, locked (or
not), with its user."""

from __future__ import annotations

import uuid

from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import Tenant, TenantAccess
from scim.exceptions import NotFound
from scim.services.locking import first_locked


def user_pk(user_id: str) -> uuid.UUID:
    """The user's id from a URL; an id that is not one is a user that does not exist."""
    pk = parse_uuid(user_id)
    if pk is None:
        raise NotFound()
    return pk


def locked_access(tenant: Tenant, user_id: str, *, for_delete: bool = False) -> TenantAccess:
    """The access (and user) rows, locked for this transaction.

    Edits take FOR NO KEY UPDATE, which does not conflict with the KEY SHARE lock a concurrent
    membership insert takes on the access, so user PATCHes and group PATCHes do not wait on each
    other; a deletion takes FOR UPDATE. The user row is locked too: a rename writes it.
    """
    pk = user_pk(user_id)
    access = first_locked(
        accesses_of(tenant, pk),
        key=("access", tenant.pk, pk),
        of=("self", "user"),
        no_key=not for_delete,
    )
    return found(access)


def access_of(tenant: Tenant, user_id: str) -> TenantAccess:
    """`locked_access` without the lock."""
    return found(accesses_of(tenant, user_pk(user_id)).first())


def accesses_of(tenant: Tenant, user_pk: uuid.UUID):
    return TenantAccess.objects.for_tenant(tenant).select_related("user").filter(user_id=user_pk)


def found(access: TenantAccess | None) -> TenantAccess:
    if access is None:
        raise NotFound()
    return access
