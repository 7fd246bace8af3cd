"""`make run`'s set-up: a demo admin, the tenant `main` and its Entra ID integration.

Safe to run again: existing objects are reused, and secrets are printed only when created. Each
creation is audited as the matching command's would be. The demo integration is made once, with
the tenant: an administrator who deleted it does not get it back (with a new live token) from
the next `make run`.
"""

import secrets

from kestra_iam.management.audited import AuditedCommand
from kestra_iam.models import Tenant, User
from kestra_iam.services import tenant_create
from provisioning.models import ProvisioningIntegration
from provisioning.selectors import integration_endpoint, public_base_url
from provisioning.services import integration_create
from provisioning.tenancy import TENANCY_REQUIRED, tenancy_enabled

DEMO_ADMIN = "admin"
DEMO_TENANT = "main"
DEMO_INTEGRATION = "Microsoft Entra ID"
MANAGE = ".venv/bin/python manage.py"


class Command(AuditedCommand):
    help = "Create the demo admin, the tenant 'main' and its integration if they do not exist."

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(id=DEMO_TENANT).first()
        new_tenant = tenant is None
        if new_tenant:
            self.run_audited(
                lambda: tenant_create(tenant_id=DEMO_TENANT, name="Main"),
                action="command.tenant.create",
                resource_type="tenant",
                tenant_id=lambda created: created.pk,
            )
            tenant = Tenant.objects.get(id=DEMO_TENANT)
        self.stdout.write(f"Tenant '{tenant.id}' {'created' if new_tenant else 'exists'}.")
        self._ensure_admin()
        self._ensure_integration(tenant, new_tenant=new_tenant)

    def _ensure_admin(self) -> None:
        if User.objects.filter(user_name_key=DEMO_ADMIN).exists():
            self.stdout.write(
                f"Admin user '{DEMO_ADMIN}' exists; its password was printed when it was created. "
                f"To reset it:\n    {MANAGE} changepassword {DEMO_ADMIN}"
            )
            return
        password = secrets.token_urlsafe(12)
        self.run_audited(
            lambda: User.objects.create_superuser(DEMO_ADMIN, password),
            action="command.user.create_superuser",
            resource_type="user",
            tenant_id=lambda user: "",
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin user created. Log in at {public_base_url()}/admin/ with\n"
                f"    login:    {DEMO_ADMIN}\n"
                f"    password: {password}\n"
                "The password is shown this once. To reset it:\n"
                f"    {MANAGE} changepassword {DEMO_ADMIN}"
            )
        )

    def _ensure_integration(self, tenant: Tenant, *, new_tenant: bool) -> None:
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
        if not new_tenant:
            self.stdout.write(
                f"No demo integration on tenant '{tenant.id}': it was deleted (or never made "
                "here), and make run creates it only with the tenant. To create one:\n"
                f"    {MANAGE} integration create --tenant {tenant.id} --name "
                f"'{DEMO_INTEGRATION}'"
            )
            return
        self.run_audited(
            lambda: self._create_integration(tenant),
            action="command.integration.create",
            resource_type="provisioningintegration",
            tenant_id=lambda integration: integration.tenant_id,
            integration_id=lambda integration: integration.pk,
        )

    def _create_integration(self, tenant: Tenant) -> ProvisioningIntegration:
        """Create it and print its token: shown once the audited transaction commits."""
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
        return created.integration
