"""`manage.py tenant create|list`: tenants for scripts and operators."""

import json

from django.core.management.base import CommandError, CommandParser

from kestra_iam.management.audited import AuditedCommand
from kestra_iam.models import Tenant
from kestra_iam.services import DomainError, tenant_create


class Command(AuditedCommand):
    help = "Create and list tenants."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list}")
        create = actions.add_parser("create", help="Create a tenant.")
        create.add_argument("tenant_id", help="Slug id, e.g. main or acme-prod.")
        create.add_argument("--name", default="", help="Display name (defaults to the id).")
        create.add_argument("--json", action="store_true", help="Print the tenant as JSON.")
        listing = actions.add_parser("list", help="List tenants.")
        listing.add_argument("--json", action="store_true", help="Print a JSON array.")

    def handle(self, *args, action: str, **options) -> None:
        if action == "create":
            try:
                self.run_audited(
                    lambda: self.create(options),
                    action="command.tenant.create",
                    resource_type="tenant",
                    tenant_id=lambda tenant: tenant.pk,
                )
            except DomainError as exc:
                raise CommandError(str(exc)) from None
            return
        tenants = Tenant.objects.all()
        if options["json"]:
            self.stdout.write(json.dumps([tenant_as_dict(t) for t in tenants], indent=2))
            return
        for tenant in tenants:
            self.stdout.write(f"{tenant.id}\t{tenant.name}")

    def create(self, options: dict) -> Tenant:
        tenant = tenant_create(tenant_id=options["tenant_id"], name=options["name"])
        if options["json"]:
            self.stdout.write(json.dumps(tenant_as_dict(tenant)))
        else:
            self.stdout.write(f"Tenant '{tenant.id}' created.")
        return tenant


def tenant_as_dict(tenant: Tenant) -> dict:
    return {"id": tenant.id, "name": tenant.name, "created_at": tenant.created_at.isoformat()}
