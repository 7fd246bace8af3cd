"""`manage.py profile list|make-primary`: each tenant's profile of a user, and which is primary.

    profile list --user USERNAME [--json]
    profile make-primary --tenant T --user USERNAME [--json]

`make-primary` makes the tenant's profile the one this site shows for the user, and that tenant
the one whose provisioning may rename it (`kestra_iam.profiles`); the tenant must hold a profile
of the user. It is audited; errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from kestra_iam.management.audited import AuditedCommand
from kestra_iam.models import TenantAccess, User
from kestra_iam.profiles import set_primary_tenant
from kestra_iam.rbac.services import tenant_named, user_named
from kestra_iam.services import DomainError


class Command(AuditedCommand):
    help = "List a user's profiles per tenant, or choose the primary one."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,make-primary}")
        listing = actions.add_parser("list", help="Each tenant's profile of the user.")
        listing.add_argument("--user", required=True, help="The userName (any case).")
        listing.add_argument("--json", action="store_true", help="Print JSON.")
        primary = actions.add_parser(
            "make-primary", help="Make a tenant's profile the primary one."
        )
        primary.add_argument("--tenant", required=True)
        primary.add_argument("--user", required=True, help="The userName (any case).")
        primary.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, action: str, **options) -> None:
        try:
            user = user_named(options["user"])
            if action == "list":
                return self.list_profiles(user, options["json"])
            tenant = tenant_named(options["tenant"])
            self.run_audited(
                lambda: self.make_primary(user, tenant, options["json"]),
                action="command.profile.make_primary",
                resource_type="user",
                tenant_id=lambda _changed: tenant.pk,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None

    def make_primary(self, user: User, tenant, as_json: bool) -> User:
        try:
            set_primary_tenant(user, tenant)
        except ValidationError as exc:
            raise DomainError(exc.messages[0]) from None
        if as_json:
            self.stdout.write(json.dumps({"user": user.user_name, "primary_tenant": tenant.pk}))
        else:
            self.stdout.write(
                f"{user.user_name}: the profile in {tenant.pk} is now the primary one."
            )
        return user

    def list_profiles(self, user: User, as_json: bool) -> None:
        rows = [
            {
                "tenant": tenant_id,
                "primary": tenant_id == user.primary_tenant_id,
                "displayName": display_name,
                "active": active is not False,
            }
            for tenant_id, display_name, active in TenantAccess.objects.filter(user=user)
            .order_by("tenant_id")
            .values_list("tenant_id", "display_name", "active")
        ]
        if as_json:
            self.stdout.write(
                json.dumps(
                    {"user": user.user_name, "primary_tenant": user.primary_tenant_id,
                     "profiles": rows},
                    indent=2,
                )
            )  # fmt: skip
            return
        if not rows:
            self.stdout.write(f"{user.user_name} has no profile in any tenant.")
        for row in rows:
            marks = ["primary"] if row["primary"] else []
            marks += [] if row["active"] else ["disabled"]
            shown = f" ({', '.join(marks)})" if marks else ""
            self.stdout.write(f"{row['tenant']}\t{row['displayName'] or '—'}{shown}")
