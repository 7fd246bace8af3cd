"""`manage.py role create|list|delete`: a tenant's roles, for scripts and operators.

    role create --tenant T --name NAME --permission RES:ACTION [--permission …]
                [--description D] [--json]
    role list --tenant T [--json]
    role delete --tenant T --name NAME [--json]     (its bindings go with it)

Writes are audited; errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import CommandParser

from kestra_iam.management.audited import Deleted
from kestra_iam.management.tenant_commands import TenantIAMCommand
from kestra_iam.models import Role
from kestra_iam.permissions import Permission, permission_pairs, permissions_from_pairs
from kestra_iam.rbac.services import role_create, role_delete, role_named
from kestra_iam.services import DomainError


class Command(TenantIAMCommand):
    help = "Create, list and delete a tenant's roles."
    resource = resource_type = "role"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{create,list,delete}"
        )
        create = self.add_action(actions, "create", "Create a role.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--permission",
            action="append",
            default=[],
            metavar="RES:ACTION",
            help="A permission the role grants, e.g. FLOWS:UPDATE; repeat for more.",
        )
        create.add_argument("--description", default="")
        self.add_action(actions, "list", "List the tenant's roles.")
        delete = self.add_action(actions, "delete", "Delete a role and its bindings.")
        delete.add_argument("--name", required=True)

    def do_create(self, tenant, options: dict) -> Role:
        try:
            pairs = [str(Permission.parse(text)) for text in options["permission"]]
        except ValidationError as exc:
            raise DomainError(f"--permission: {' '.join(exc.messages)}") from None
        role = role_create(
            tenant=tenant,
            name=options["name"],
            permissions=permissions_from_pairs(pairs),
            description=options["description"],
        )
        self._print(role, options, verb="created")
        return role

    def do_delete(self, tenant, options: dict) -> Deleted:
        role = role_named(tenant, options["name"])
        bindings = role.bindings.count()
        summary = role_as_dict(role)
        role_delete(role=role)
        if options["json"]:
            self.stdout.write(json.dumps({**summary, "deleted": True, "bindings": bindings}))
        else:
            self.stdout.write(
                f"Role '{summary['name']}' deleted from {tenant.pk}, with its {bindings} "
                "binding(s)."
            )
        return self.deleted(summary, tenant)

    def do_list(self, tenant, options: dict) -> None:
        roles = list(Role.objects.for_tenant(tenant).order_by("name"))
        default = tenant.default_role_id
        if options["json"]:
            self.stdout.write(
                json.dumps([role_as_dict(r, default=default) for r in roles], indent=2)
            )
            return
        for role in roles:
            mark = "  (default role)" if role.pk == default else ""
            grants = ", ".join(permission_pairs(role.permissions)) or "nothing"
            self.stdout.write(f"{role.name}{mark}\n    {grants}")

    def _print(self, role: Role, options: dict, *, verb: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(role_as_dict(role)))
        else:
            self.stdout.write(f"Role '{role.name}' {verb} in {role.tenant_id}.")


def role_as_dict(role: Role, *, default: int | None = None) -> dict:
    return {
        "id": role.pk,
        "tenant": role.tenant_id,
        "name": role.name,
        "description": role.description,
        "permissions": permission_pairs(role.permissions),
        "default": role.pk == default,
    }
