"""Per-tenant profiles and the primary one.

Users are global, provisioning is per tenant, and two tenants' identity providers may both
provision one person. So the identity — the SCIM `id` and `userName` — is global, and
everything else an identity provider writes is that tenant's **profile** of the person, kept
on the tenant's `TenantAccess` with its multi-valued attributes:

- a tenant's SCIM view shows what its own identity provider wrote, and nothing any other
  tenant's did: linking a known userName into a second tenant starts an empty profile there;
- a tenant's write changes only its own profile; a password sent over SCIM is kept, hashed, on
  that profile and never accepted for sign-in, so no tenant changes how a person logs in;
- removing a tenant's access (SCIM DELETE) removes that tenant's profile with it.

The **primary profile** is the one this site shows for the person (the admin's lists and
pages, display names): the profile of the user's `primary_tenant`. The tenant whose
provisioning created the user becomes its primary tenant; after that only a site administrator
changes it (`set_primary_tenant`). A tenant's delete never hands it on: while the primary
tenant has no access, the user has no primary profile (the admin shows the userName), and when
that tenant provisions the person again its new profile is the primary one again. Only the
primary tenant may rename the identity over SCIM, since a userName is the one thing every
tenant sees; users made in the admin have no primary tenant, so no tenant renames them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery

from kestra_iam.models import Tenant, TenantAccess, User


def primary_profile(user: User) -> TenantAccess | None:
    """The primary tenant's profile of `user`; None while it has none."""
    if user.primary_tenant_id is None:
        return None
    return TenantAccess.objects.filter(user=user, tenant_id=user.primary_tenant_id).first()


def primary_profile_field(field: str, user_ref: str = "pk") -> Subquery:
    """One field of the primary profile of the user `user_ref` points at, as an annotation
    (lists show display names without a query per row)."""
    return Subquery(
        TenantAccess.objects.filter(
            user_id=OuterRef(user_ref), tenant_id=OuterRef("primary_tenant_id")
        ).values(field)[:1]
    )


def may_rename(user: User, tenant: Tenant | str) -> bool:
    """Whether provisioning for `tenant` may change the user's userName."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.pk
    return user.primary_tenant_id is not None and user.primary_tenant_id == tenant_id


def validate_primary_tenant(user: User, tenant: Tenant | None) -> None:
    """A new primary tenant must hold a profile of the user: a primary profile is one that
    exists when it is chosen (None, no tenant's, is always allowed)."""
    if tenant is not None and not TenantAccess.objects.filter(user=user, tenant=tenant).exists():
        raise ValidationError(f"{user} has no profile in tenant {tenant.pk}; provision it there.")


def set_primary_tenant(user: User, tenant: Tenant | None) -> None:
    """Make `tenant`'s profile the user's primary one (None: no tenant's)."""
    validate_primary_tenant(user, tenant)
    user.primary_tenant = tenant
    user.save(update_fields=["primary_tenant"])
