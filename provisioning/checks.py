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
