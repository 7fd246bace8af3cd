"""The one receiver of this app: bootstrap a new integration.

Guard, then delegate to one idempotent service; connected once, from `ProvisioningConfig.ready`,
with a dispatch_uid. The raw token goes to whoever saved the integration through
`provisioning.handoff`, never through the instance.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from provisioning.handoff import hand_over
from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_bootstrap


@receiver(post_save, sender=ProvisioningIntegration, dispatch_uid="provisioning_bootstrap")
def bootstrap_new_integration(sender, instance, created, raw, **kwargs):
    """Guard, then delegate. Fixture loads (`raw`) and updates create nothing."""
    if not created or raw:
        return
    result = integration_bootstrap(integration=instance)
    if result.raw_token is not None:
        hand_over(instance.pk, result.raw_token)
