"""Provisioning workflows: create, bootstrap, enable/disable, rotate and delete integrations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from kestra_iam.models import ApiToken, Binding, Role, ServiceAccount, Tenant
from kestra_iam.services import (
    DomainError,
    IssuedToken,
    api_token_issue,
    api_token_revoke_all,
    api_token_rotate,
    live_tokens,
)
from provisioning.models import ProvisioningIntegration
from provisioning.provisioner_role import (
    SCIM_PROVISIONER_PERMISSIONS,
    SCIM_PROVISIONER_ROLE,
    grants_exactly_what_scim_needs,
    provisioner_role,
)
from provisioning.tenancy import ensure_tenancy_enabled


@dataclass(frozen=True)
class BootstrapResult:
    role: Role
    service_account: ServiceAccount
    binding: Binding
    token: ApiToken | None  # None only when asked not to issue one and none is live
    raw_token: str | None  # None when the integration already had a live token


@dataclass(frozen=True)
class CreatedIntegration:
    integration: ProvisioningIntegration
    raw_token: str


def _service_account_name(integration: ProvisioningIntegration) -> str:
    slug = slugify(integration.name)[:40].strip("-")
    parts = ["scim", slug, integration.id.hex[:8]] if slug else ["scim", integration.id.hex[:12]]
    return "-".join(parts)


def integration_bootstrap(
    *, integration: ProvisioningIntegration, issue_token: bool = True
) -> BootstrapResult:
    """Ensure the role, service account, binding and (unless told not to) token an integration
    needs.

    Idempotent: a second run finds everything in place and issues no new token. The
    SCIMProvisioner role is the tenant's, shared by its integrations, and reused as it stands
    (an admin may have narrowed it on purpose; `integration_repair` resets it).
    """
    ensure_tenancy_enabled()
    with transaction.atomic():
        tenant = integration.tenant
        role, _ = Role.objects.get_or_create(
            tenant=tenant,
            name=SCIM_PROVISIONER_ROLE,
            defaults={
                "permissions": SCIM_PROVISIONER_PERMISSIONS,
                "description": "Lets provisioning integrations manage users, groups and bindings.",
            },
        )
        account = integration.service_account
        if account is None:
            account = ServiceAccount.objects.create(
                tenant=tenant,
                name=_service_account_name(integration),
                description=f"Service account of the integration {integration.name!r}.",
            )
            integration.service_account = account
            ProvisioningIntegration.objects.filter(pk=integration.pk).update(
                service_account=account
            )
        binding, _ = Binding.objects.get_or_create(
            tenant=tenant, role=role, service_account=account
        )
        token = live_tokens(account).first()
        raw = None
        if token is None and issue_token:
            issued = api_token_issue(service_account=account, lifetime=integration.token_lifetime)
            token, raw = issued.token, issued.raw
    return BootstrapResult(role, account, binding, token, raw)


def integration_create(
    *,
    tenant: Tenant,
    name: str,
    description: str = "",
    enabled: bool = True,
    provisioning_type: str = ProvisioningIntegration.Type.SCIM_2_0,
    token_lifetime_days: int | None = None,
) -> CreatedIntegration:
    """Create an integration and return it with its Secret Token (to be shown once)."""
    ensure_tenancy_enabled()
    integration = ProvisioningIntegration(
        tenant=tenant,
        name=name.strip(),
        description=description,
        enabled=enabled,
        provisioning_type=provisioning_type,
        token_lifetime_days=token_lifetime_days,
    )
    try:
        integration.full_clean()
    except ValidationError as exc:
        raise DomainError.from_validation(exc) from None
    with transaction.atomic():
        integration.save()  # the post_save receiver bootstraps its role, account and binding
        issued = integration_issue_first_token(integration=integration)
    return CreatedIntegration(integration, issued.raw)


def integration_issue_first_token(*, integration: ProvisioningIntegration) -> IssuedToken:
    """The new integration's Secret Token, issued by the code that created the integration
    (the admin's add page, `integration create`), which shows it once. The bootstrap receiver
    issues none: a token issued where nobody shows it would be a live secret nobody has."""
    return api_token_issue(
        service_account=integration.service_account, lifetime=integration.token_lifetime
    )


def integration_set_enabled(*, integration: ProvisioningIntegration, enabled: bool) -> None:
    integration.enabled = enabled
    integration.save(update_fields=["enabled", "updated_at"])


def integration_rotate_token(
    *, integration: ProvisioningIntegration, overlap: timedelta = timedelta(0)
) -> IssuedToken:
    """Issue a new Secret Token. The old one stops working now, or when `overlap` (at most
    24 hours) ends, so the identity provider can be updated without a gap."""
    with transaction.atomic():
        account = integration.service_account
        if account is None:  # an integration created before its bootstrap could run
            return _bootstrap_token(integration)
        return api_token_rotate(
            service_account=account, overlap=overlap, lifetime=integration.token_lifetime
        )


def integration_revoke_tokens(*, integration: ProvisioningIntegration) -> int:
    """Revoke every Secret Token of the integration: its endpoint answers 401 until a rotation."""
    if integration.service_account is None:
        return 0
    return api_token_revoke_all(service_account=integration.service_account)


def _bootstrap_token(integration: ProvisioningIntegration) -> IssuedToken:
    result = integration_bootstrap(integration=integration)
    return IssuedToken(token=result.token, raw=result.raw_token)


@dataclass(frozen=True)
class Repair:
    """What `integration_repair` changed; empty when everything was in place."""

    changes: list[str]


def integration_repair(*, integration: ProvisioningIntegration) -> Repair:
    """Give the integration back what SCIM needs: the tenant's SCIMProvisioner role with exactly
    its permissions (re-created if it was deleted), a service account, and the binding between
    them. Tokens are left alone: a missing one is a rotation, which the admin decides on.
    """
    ensure_tenancy_enabled()
    changes = []
    with transaction.atomic():
        role = provisioner_role(integration.tenant_id)
        if role is None:
            changes.append(f"re-created the role {SCIM_PROVISIONER_ROLE}")
        elif not grants_exactly_what_scim_needs(role):
            role.permissions = SCIM_PROVISIONER_PERMISSIONS
            role.save(update_fields=["permissions"])
            changes.append(f"reset the permissions of {SCIM_PROVISIONER_ROLE}")
        had_account = integration.service_account_id is not None
        had_binding = (
            had_account
            and role is not None
            and Binding.objects.filter(
                tenant=integration.tenant,
                role=role,
                service_account_id=integration.service_account_id,
            ).exists()
        )
        integration_bootstrap(integration=integration, issue_token=False)
        if not had_account:
            changes.append("created its service account")
        if not had_binding:
            changes.append(f"bound its service account to {SCIM_PROVISIONER_ROLE}")
    return Repair(changes)


def integration_delete(*, integration: ProvisioningIntegration) -> None:
    """Delete the integration, its service account, its bindings and its tokens.

    The tenant's SCIMProvisioner role stays: other integrations may use it, and an admin may
    have tuned it.
    """
    with transaction.atomic():
        account = integration.service_account
        integration.delete()
        if account is not None:
            account.delete()
