"""The shape the IAM commands share: `manage.py <thing> ACTION --tenant T … [--json]`.

Each action is a `do_<action>(tenant, options)` method. Reads (`list`) just run; every other
action is a write, audited as `command.<resource>.<action>` in the write's transaction, and
returns what it changed. A `DomainError` is the command's one-line error (exit status 1).
"""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from kestra_iam.management.audited import AuditedCommand, Deleted
from kestra_iam.models import Tenant
from kestra_iam.rbac.services import tenant_named
from kestra_iam.services import DomainError


class TenantIAMCommand(AuditedCommand):
    resource = ""  # the audit action's middle word: command.<resource>.<action>
    resource_type = ""  # the audit event's resource type
    reads = frozenset({"list"})

    @staticmethod
    def add_action(actions, name: str, help: str) -> CommandParser:
        """A sub-command with the two options every action takes."""
        parser = actions.add_parser(name, help=help)
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        return parser

    def handle(self, *args, action: str, **options) -> None:
        run = getattr(self, "do_" + action.replace("-", "_"))
        try:
            tenant = tenant_named(options["tenant"])
            if action in self.reads:
                return run(tenant, options)
            self.run_audited(
                lambda: run(tenant, options),
                action=f"command.{self.resource}.{action}",
                resource_type=self.resource_type,
                tenant_id=lambda changed: changed.tenant_id,
            )
        except DomainError as exc:
            raise CommandError(exc.on_command_line()) from None

    @staticmethod
    def deleted(summary: dict, tenant: Tenant) -> Deleted:
        return Deleted(summary["id"], tenant.pk, summary.get("name") or summary.get("text", ""))
