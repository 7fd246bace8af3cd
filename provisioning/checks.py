"""System checks of the provisioning app."""

from django.core.checks import Warning, register
from django.db import DatabaseError

from provisioning.tenancy import TENANCY_REQUIRED, tenancy_enabled


@register()
def integrations_need_tenancy(app_configs, **kwargs):
    """Warn when integrations exist while tenancy is off: their endpoints refuse every request."""
    if tenancy_enabled():
        return []
    from provisioning.models import ProvisioningIntegration

    try:
        count = ProvisioningIntegration.objects.count()
    except DatabaseError:  # tables not migrated yet: nothing to warn about
        return []
    if not count:
        return []
    return [
        Warning(
            f"{count} provisioning integration(s) exist but tenants are disabled, so their "
            "SCIM endpoints reject every request.",
            hint=TENANCY_REQUIRED,
            id="provisioning.W001",
        )
    ]


@register()
def integrations_can_authorise(app_configs, **kwargs):
    """Warn about each integration whose role or binding no longer lets SCIM work: an admin
    deleted or narrowed the SCIMProvisioner role, or removed the binding."""
    from provisioning.models import ProvisioningIntegration
    from provisioning.readiness import role_and_binding_checks

    try:
        integrations = list(ProvisioningIntegration.objects.select_related("service_account"))
    except DatabaseError:  # tables not migrated yet
        return []
    warnings = []
    for integration in integrations:
        for check in role_and_binding_checks(integration):
            if not check.ok:
                warnings.append(
                    Warning(
                        f"Integration '{integration.name}' ({integration.pk}) of tenant "
                        f"'{integration.tenant_id}': {check.detail}",
                        hint=check.fix,
                        obj=integration,
                        id="provisioning.W002",
                    )
                )
    return warnings
