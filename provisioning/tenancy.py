"""Provisioning exists only while tenancy is on (`kestra.ee.tenants.enabled`): the one check.

The admin, the commands, the system check, the demo set-up and the SCIM endpoints all ask here,
and say the same sentence when the answer is no.
"""

from __future__ import annotations

from django.conf import settings

from kestra_iam.services import DomainError

TENANCY_REQUIRED = (
    "Provisioning requires tenants to be enabled: set kestra.ee.tenants.enabled: true in the "
    "KESTRA_CONFIG file (or KESTRA_EE_TENANTS_ENABLED=true) and restart."
)


class ProvisioningUnavailable(DomainError):
    """Tenancy is off, so integrations cannot exist."""

    def __init__(self) -> None:
        super().__init__(TENANCY_REQUIRED)


def tenancy_enabled() -> bool:
    return settings.KESTRA_TENANTS_ENABLED


def ensure_tenancy_enabled() -> None:
    """Raise ProvisioningUnavailable (a DomainError with the sentence above) if tenancy is off."""
    if not tenancy_enabled():
        raise ProvisioningUnavailable()
