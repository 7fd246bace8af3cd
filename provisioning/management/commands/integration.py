"""`manage.py integration …`: provisioning integrations for scripts and operators.

    integration create --tenant T --name N [--description D] [--disabled]
                       [--token-lifetime-days N] [--json]
    integration list [--tenant T] [--json]
    integration enable|disable|revoke-tokens|delete ID [--json]
    integration rotate-token ID [--overlap-hours H] [--json]
    integration check ID [--json]      readiness, each check with its fix; exit 1 if not ready
    integration repair ID [--json]     restore the SCIMProvisioner role and the binding

`create` and `rotate-token` print the endpoint and the Secret Token; errors are one line on
stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from django.core.management.base import CommandError, CommandParser

from kestra_iam.management.audited import AuditedCommand, Deleted
from kestra_iam.models import Tenant
from kestra_iam.services import DomainError
from provisioning.models import MAX_TOKEN_LIFETIME_DAYS, ProvisioningIntegration
from provisioning.readiness import as_json, integration_readiness
from provisioning.selectors import integration_endpoint, integration_get, integration_list
from provisioning.services import (
    integration_create,
    integration_delete,
    integration_repair,
    integration_revoke_tokens,
    integration_rotate_token,
    integration_set_enabled,
)


class Command(AuditedCommand):
    help = (
        "Create, list, enable, disable, rotate the token of, and delete provisioning integrations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{create,list,check,enable,disable,rotate-token,revoke-tokens,repair,delete}",
        )
        create = actions.add_parser("create", help="Create an integration and print its token.")
        create.add_argument("--tenant", required=True, help="Tenant id.")
        create.add_argument("--name", required=True)
        create.add_argument("--description", default="")
        create.add_argument(
            "--disabled", action="store_true", help="Create it disabled (enable it later)."
        )
        create.add_argument(
            "--token-lifetime-days",
            type=lifetime_days,
            default=None,
            help=f"Make Secret Tokens expire after N days, 1 to {MAX_TOKEN_LIFETIME_DAYS} "
            "(default: never, as Entra ID expects).",
        )
        create.add_argument("--json", action="store_true")

        listing = actions.add_parser("list", help="List integrations.")
        listing.add_argument("--tenant", help="Only this tenant's integrations.")
        listing.add_argument("--json", action="store_true")
        self._add_actions_on_one(actions)

    def _add_actions_on_one(self, actions) -> None:
        """The sub-commands that take an integration id."""
        for name, text in [
            ("enable", "Accept requests on the integration's endpoint."),
            ("disable", "Reject every request on the integration's endpoint."),
            ("rotate-token", "Issue a new Secret Token; the old one stops working."),
            ("revoke-tokens", "Revoke every Secret Token (the endpoint answers 401)."),
            ("check", "Can it provision? Each check with its fix; exit status 1 if not ready."),
            ("repair", "Restore the SCIMProvisioner role's permissions and the binding."),
            ("delete", "Delete the integration, its service account and its tokens."),
        ]:
            sub = actions.add_parser(name, help=text)
            sub.add_argument("integration_id")
            sub.add_argument("--json", action="store_true")
            if name == "rotate-token":
                sub.add_argument(
                    "--overlap-hours",
                    type=int,
                    default=0,
                    help="Keep the previous token working this many hours (0-24; default 0).",
                )

    def handle(self, *args, action: str, **options) -> None:
        if action == "check":  # a read: nothing to audit
            return self.do_check(options)
        try:
            self.run_audited(
                lambda: getattr(self, "do_" + action.replace("-", "_"))(options),
                action=f"command.integration.{action}",
                resource_type="provisioningintegration",
                tenant_id=lambda integration: integration.tenant_id,
                integration_id=lambda integration: integration.pk,
            )
        except DomainError as exc:
            raise CommandError(exc.on_command_line()) from None

    # --- sub-commands -------------------------------------------------------------------------

    def do_create(self, options: dict) -> ProvisioningIntegration:
        tenant = self._tenant(options["tenant"])
        created = integration_create(
            tenant=tenant,
            name=options["name"],
            description=options["description"],
            enabled=not options["disabled"],
            token_lifetime_days=options["token_lifetime_days"],
        )
        self._print_credentials(created.integration, created.raw_token, options, verb="created")
        return created.integration

    def do_list(self, options: dict) -> None:
        tenant = self._tenant(options["tenant"]) if options["tenant"] else None
        integrations = list(integration_list(tenant=tenant))
        if options["json"]:
            self.stdout.write(json.dumps([as_dict(i) for i in integrations], indent=2))
            return
        if not integrations:
            self.stdout.write("No integrations.")
        for integration in integrations:
            state = "enabled" if integration.enabled else "disabled"
            self.stdout.write(
                f"{integration.id}  {integration.tenant_id}  {state:8}  {integration.name}\n"
                f"    {integration_endpoint(integration)}"
            )

    def do_check(self, options: dict) -> None:
        integration = self._integration(options["integration_id"])
        checks = integration_readiness(integration)
        if options["json"]:
            self.stdout.write(json.dumps(as_json(integration, checks), indent=2))
        else:
            self.stdout.write(f"Integration '{integration.name}' ({integration.id}):")
            for check in checks:
                mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
                self.stdout.write(f"  {mark} {check.label}: {check.detail}")
                if check.fix:
                    self.stdout.write(f"       fix: {check.fix}")
        failing = [check for check in checks if not check.ok]
        if failing:
            raise CommandError(
                f"Not ready: {len(failing)} check(s) fail ({', '.join(c.key for c in failing)}).",
                returncode=1,
            )
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS("Ready to provision."))

    def do_repair(self, options: dict) -> ProvisioningIntegration:
        integration = self._integration(options["integration_id"])
        repaired = integration_repair(integration=integration)
        if options["json"]:
            self.stdout.write(json.dumps({**as_dict(integration), "repaired": repaired.changes}))
        elif repaired.changes:
            self.stdout.write(f"Repaired '{integration.name}': {'; '.join(repaired.changes)}.")
        else:
            self.stdout.write(
                f"'{integration.name}' needed no repair: role and binding are in place."
            )
        return integration

    def do_enable(self, options: dict) -> ProvisioningIntegration:
        return self._set_enabled(options, enabled=True)

    def do_disable(self, options: dict) -> ProvisioningIntegration:
        return self._set_enabled(options, enabled=False)

    def do_rotate_token(self, options: dict) -> ProvisioningIntegration:
        integration = self._integration(options["integration_id"])
        hours = options["overlap_hours"]
        issued = integration_rotate_token(integration=integration, overlap=timedelta(hours=hours))
        verb = "has a new token" + (
            f" (the previous one works for {hours} more hour(s))" if hours else ""
        )
        self._print_credentials(integration, issued.raw, options, verb=verb)
        return integration

    def do_revoke_tokens(self, options: dict) -> ProvisioningIntegration:
        integration = self._integration(options["integration_id"])
        count = integration_revoke_tokens(integration=integration)
        if options["json"]:
            self.stdout.write(json.dumps({**as_dict(integration), "revoked": count}))
        else:
            self.stdout.write(
                f"Revoked {count} token(s) of '{integration.name}'; its endpoint answers 401 "
                f"until: manage.py integration rotate-token {integration.id}"
            )
        return integration

    def do_delete(self, options: dict) -> Deleted:
        integration = self._integration(options["integration_id"])
        summary = as_dict(integration)
        integration_delete(integration=integration)
        if options["json"]:
            self.stdout.write(json.dumps({**summary, "deleted": True}))
        else:
            self.stdout.write(
                f"Integration '{summary['name']}' ({summary['id']}) deleted, with its service "
                "account and tokens."
            )
        # The instance lost its primary key with the row; the trail keeps the id it had.
        return Deleted(summary["id"], summary["tenant"], summary["name"])

    # --- helpers ------------------------------------------------------------------------------

    def _set_enabled(self, options: dict, *, enabled: bool) -> ProvisioningIntegration:
        integration = self._integration(options["integration_id"])
        integration_set_enabled(integration=integration, enabled=enabled)
        if options["json"]:
            self.stdout.write(json.dumps(as_dict(integration)))
        else:
            state = "enabled" if enabled else "disabled"
            self.stdout.write(f"Integration '{integration.name}' ({integration.id}) is {state}.")
        return integration

    def _print_credentials(
        self, integration: ProvisioningIntegration, raw_token: str, options: dict, *, verb: str
    ) -> None:
        if options["json"]:
            self.stdout.write(json.dumps({**as_dict(integration, full=False), "token": raw_token}))
            return
        state = "enabled" if integration.enabled else "disabled"
        self.stdout.write(
            f"Integration '{integration.name}' ({integration.id}) {verb}; it is {state}.\n"
            f"Endpoint:     {integration_endpoint(integration)}\n"
            f"Secret Token: {raw_token}\n"
            "Copy the token now: it is not shown again."
        )

    def _tenant(self, tenant_id: str) -> Tenant:
        tenant = Tenant.objects.filter(id=tenant_id).first()
        if tenant is None:
            raise CommandError(
                f"Unknown tenant {tenant_id!r}; create it with: manage.py tenant create {tenant_id}"
            )
        return tenant

    def _integration(self, integration_id: str) -> ProvisioningIntegration:
        integration = integration_get(integration_id)
        if integration is None:
            raise CommandError(f"No integration with id {integration_id!r}.")
        return integration


def lifetime_days(text: str) -> int:
    """--token-lifetime-days: whole days in the range the model allows; 0 is not "never"."""
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_TOKEN_LIFETIME_DAYS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of days from 1 to {MAX_TOKEN_LIFETIME_DAYS}; leave the "
            "option out for a token that never expires."
        )
    return days


def as_dict(integration: ProvisioningIntegration, *, full: bool = True) -> dict:
    data = {
        "id": str(integration.id),
        "tenant": integration.tenant_id,
        "name": integration.name,
        "enabled": integration.enabled,
        "endpoint": integration_endpoint(integration),
    }
    if full:
        data.update(
            description=integration.description,
            provisioning_type=integration.provisioning_type,
            token_lifetime_days=integration.token_lifetime_days,
            created_at=integration.created_at.isoformat(),
            last_request_at=(
                integration.last_request_at.isoformat() if integration.last_request_at else None
            ),
        )
    return data
