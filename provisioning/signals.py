"""The one receiver of this app: bootstrap a new integration (style.md §3)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_bootstrap


@receiver(post_save, sender=ProvisioningIntegration, dispatch_uid="provisioning_bootstrap")
def bootstrap_new_integration(sender, instance, created, raw, **kwargs):
    """Guard, then delegate. Fixture loads (`raw`) and updates create nothing."""
    if not created or raw:
        return
    result = integration_bootstrap(integration=instance)
    # Not persisted: the caller that saved the integration shows it once, then drops it.
    instance.issued_token = result.raw_token
