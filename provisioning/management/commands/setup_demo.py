"""`make run`'s set-up: a demo admin, the tenant `main` and its Entra ID integration.

Safe to run again: existing objects are reused, and secrets are printed only when created.
"""

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from kestra_iam.models import Tenant, User
from provisioning.models import ProvisioningIntegration
from provisioning.selectors import integration_endpoint, public_base_url
from provisioning.services import integration_create
from provisioning.tenancy import TENANCY_REQUIRED, tenancy_enabled

DEMO_ADMIN = "admin"
DEMO_TENANT = "main"
DEMO_INTEGRATION = "Microsoft Entra ID"
MANAGE = ".venv/bin/python manage.py"


class Command(BaseCommand):
    help = "Create the demo admin, the tenant 'main' and its integration if they do not exist."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        tenant, created = Tenant.objects.get_or_create(id=DEMO_TENANT, defaults={"name": "Main"})
        self.stdout.write(f"Tenant '{tenant.id}' {'created' if created else 'exists'}.")
        self._ensure_admin()
        self._ensure_integration(tenant)

    def _ensure_admin(self) -> None:
        if User.objects.filter(user_name_key=DEMO_ADMIN).exists():
            self.stdout.write(
                f"Admin user '{DEMO_ADMIN}' exists; its password was printed when it was created. "
                f"To reset it:\n    {MANAGE} changepassword {DEMO_ADMIN}"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(DEMO_ADMIN, password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin user created. Log in at {public_base_url()}/admin/ with\n"
                f"    login:    {DEMO_ADMIN}\n"
                f"    password: {password}\n"
                "The password is shown this once. To reset it:\n"
                f"    {MANAGE} changepassword {DEMO_ADMIN}"
            )
        )

    def _ensure_integration(self, tenant: Tenant) -> None:
        if not tenancy_enabled():
            self.stdout.write(f"No demo integration: {TENANCY_REQUIRED}")
            return
        existing = ProvisioningIntegration.objects.filter(
            tenant=tenant, name=DEMO_INTEGRATION
        ).first()
        if existing is not None:
            self.stdout.write(
                f"Integration '{DEMO_INTEGRATION}' exists: {integration_endpoint(existing)}\n"
                "Its Secret Token was printed when it was created. To issue a new one:\n"
                f"    {MANAGE} integration rotate-token {existing.id}"
            )
            return
        created = integration_create(
            tenant=tenant,
            name=DEMO_INTEGRATION,
            description="Demo integration created by make run.",
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Integration '{DEMO_INTEGRATION}' created on tenant '{tenant.id}'.\n"
                f"    Endpoint (Tenant URL): {integration_endpoint(created.integration)}\n"
                f"    Secret Token:          {created.raw_token}\n"
                "The token is shown this once. To issue a new one (the old one stops working):\n"
                f"    {MANAGE} integration rotate-token {created.integration.id}"
            )
        )
