"""The one receiver of this app: bootstrap a new integration.

Guard, then delegate to one idempotent service; connected once, from `ProvisioningConfig.ready`,
with a dispatch_uid. However an integration is saved, it gets the tenant's SCIMProvisioner role,
its service account and the binding between them. Its Secret Token is issued by the code that
created it and shows it (`provisioning.services.integration_issue_first_token`), not here.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_bootstrap


@receiver(post_save, sender=ProvisioningIntegration, dispatch_uid="provisioning_bootstrap")
def bootstrap_new_integration(sender, instance, created, raw, **kwargs):
    """Guard, then delegate. Fixture loads (`raw`) and updates create nothing."""
    if not created or raw:
        return
    integration_bootstrap(integration=instance, issue_token=False)
