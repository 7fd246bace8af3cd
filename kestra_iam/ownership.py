"""Who owns a global user's profile.

Users are global and provisioning is per tenant, so one tenant's identity provider must not be
able to rewrite (or set a password on) a person another tenant provisioned. The rule:

- a user made in the admin (or by `createsuperuser`) is *site-managed*: provisioning may link it
  to tenants but never writes its profile;
- otherwise the profile belongs to the tenant holding the user's **oldest access**. The tenant
  whose provisioning created the user holds the first access, so it owns the profile; when that
  access goes, ownership passes to the oldest remaining one, with nothing to reassign;
- a user with no access left is owned by nobody: the next tenant that provisions it gets the
  first access, and with it the profile.

Ownership is derived, not stored: no path that removes an access (SCIM DELETE, the admin, a
tenant's deletion) can leave a stale owner behind. `SCIM_SHARED_PROFILES` lets every tenant
with access write the profile, for instances whose tenants share one directory.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Subquery

from kestra_iam.models import Tenant, TenantAccess, User


def owner_tenant_subquery(user_ref: str = "user_id") -> Subquery:
    """The id of the tenant holding the oldest access of the user `user_ref` points at.

    An annotation, so the owner arrives with the row that is read (and locked) anyway.
    """
    return Subquery(
        TenantAccess.objects.filter(user_id=OuterRef(user_ref))
        .order_by("created_at", "pk")
        .values("tenant_id")[:1]
    )


def shared_profiles() -> bool:
    """Whether every tenant with access may write profiles (off unless configured)."""
    return settings.SCIM_SHARED_PROFILES


@dataclass(frozen=True)
class ProfileOwner:
    """A user's profile owner, as the admin shows it."""

    site: bool
    tenant_id: str | None

    def __str__(self) -> str:
        if self.site:
            return "this site (managed in the admin)"
        if self.tenant_id is None:
            return "nobody: the next tenant that provisions this user takes it over"
        return f"tenant {self.tenant_id}"


def profile_owner(user: User) -> ProfileOwner:
    if user.site_managed:
        return ProfileOwner(site=True, tenant_id=None)
    owner = (
        TenantAccess.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values_list("tenant_id", flat=True)
        .first()
    )
    return ProfileOwner(site=False, tenant_id=owner)


def may_write_profile(*, user: User, tenant: Tenant | str, owner_tenant_id: str | None) -> bool:
    """Whether provisioning for `tenant` writes the global profile of `user`.

    `owner_tenant_id` is the tenant of the user's oldest access (None: no access at all).
    Administrators are refused before this is asked; see `is_administrator`.
    """
    if user.site_managed:
        return False
    tenant_id = tenant if isinstance(tenant, str) else tenant.pk
    if owner_tenant_id is None or owner_tenant_id == tenant_id:
        return True
    return shared_profiles()


def is_administrator(user: User) -> bool:
    """Staff and superusers: managed in the admin, never written by provisioning."""
    return user.is_staff or user.is_superuser
