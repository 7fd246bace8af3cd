"""The one receiver of the domain: a new tenant gets Kestra's managed roles.

Whoever saves the tenant — `tenant create`, the admin, `make run`, the shell — so that "every
tenant has Admin, Developer, Editor, Launcher and Viewer" holds without each caller
remembering it. Guard, then delegate; connected once, from `KestraIamConfig.ready`.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from kestra_iam.models import Tenant
from kestra_iam.rbac.managed_roles import managed_roles_create


@receiver(post_save, sender=Tenant, dispatch_uid="kestra_iam_managed_roles")
def give_a_new_tenant_its_managed_roles(sender, instance, created, raw, **kwargs):
    """Fixture loads (`raw`) and updates create nothing."""
    if created and not raw:
        managed_roles_create(tenant=instance)
