"""`manage.py tenant create|list|default-role`: tenants for scripts and operators.

    tenant create TENANT_ID [--name NAME] [--json]
    tenant list [--json]
    tenant default-role TENANT_ID [ROLE | --clear] [--json]

`default-role` with a role name makes it the role every active member of the tenant holds
without a binding; with `--clear` the tenant has none; with neither it prints the current one.
"""

import json

from django.core.management.base import CommandError, CommandParser

from kestra_iam.management.audited import AuditedCommand
from kestra_iam.models import Tenant
from kestra_iam.rbac.services import role_named, tenant_named, tenant_set_default_role
from kestra_iam.services import DomainError, tenant_create


class Command(AuditedCommand):
    help = "Create and list tenants."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{create,list,default-role}"
        )
        create = actions.add_parser("create", help="Create a tenant.")
        create.add_argument("tenant_id", help="Slug id, e.g. main or acme-prod.")
        create.add_argument("--name", default="", help="Display name (defaults to the id).")
        create.add_argument("--json", action="store_true", help="Print the tenant as JSON.")
        listing = actions.add_parser("list", help="List tenants.")
        listing.add_argument("--json", action="store_true", help="Print a JSON array.")
        default = actions.add_parser(
            "default-role", help="Show, set or clear the role every active member holds."
        )
        default.add_argument("tenant_id")
        choice = default.add_mutually_exclusive_group()
        choice.add_argument("role", nargs="?", help="The role's name.")
        choice.add_argument("--clear", action="store_true", help="No default role.")
        default.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, **options) -> None:
        if action == "default-role":
            return self.default_role(options)
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

    def default_role(self, options: dict) -> None:
        try:
            tenant = tenant_named(options["tenant_id"])
            if options["role"] is None and not options["clear"]:
                return self._print_default_role(tenant, options)
            role = None if options["clear"] else role_named(tenant, options["role"])
            self.run_audited(
                lambda: self._set_default_role(tenant, role, options),
                action="command.tenant.default_role",
                resource_type="tenant",
                tenant_id=lambda changed: changed.pk,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None

    def _set_default_role(self, tenant: Tenant, role, options: dict) -> Tenant:
        tenant_set_default_role(tenant=tenant, role=role)
        self._print_default_role(tenant, options)
        return tenant

    def _print_default_role(self, tenant: Tenant, options: dict) -> None:
        role = tenant.default_role
        if options["json"]:
            self.stdout.write(json.dumps(tenant_as_dict(tenant)))
        elif role is None:
            self.stdout.write(f"Tenant '{tenant.pk}' has no default role.")
        else:
            self.stdout.write(
                f"Tenant '{tenant.pk}': every active member holds role '{role.name}'."
            )


def tenant_as_dict(tenant: Tenant) -> dict:
    return {
        "id": tenant.id,
        "name": tenant.name,
        "created_at": tenant.created_at.isoformat(),
        "default_role": tenant.default_role.name if tenant.default_role else None,
    }
