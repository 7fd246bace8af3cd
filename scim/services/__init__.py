"""SCIM writes: users and groups of one tenant, each inside one transaction with its audit event.

Every function takes the tenant as a keyword and scopes every query by it, and an `AuditEntry`
that it records in the same transaction (a write and its event commit together or not at all).
A user write changes only the tenant's own profile of the person (see `kestra_iam.profiles`).
Conflicts on the database's unique constraints become
`409 uniqueness`.
"""

from scim.services.groups import (
    scim_group_create,
    scim_group_delete,
    scim_group_patch,
    scim_group_replace,
)
from scim.services.passwords import PasswordHasher
from scim.services.users import (
    scim_user_create,
    scim_user_delete,
    scim_user_patch,
    scim_user_replace,
)

__all__ = [
    "PasswordHasher",
    "scim_group_create",
    "scim_group_delete",
    "scim_group_patch",
    "scim_group_replace",
    "scim_user_create",
    "scim_user_delete",
    "scim_user_patch",
    "scim_user_replace",
]
