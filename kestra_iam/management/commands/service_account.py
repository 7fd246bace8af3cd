"""`manage.py service_account create|list|issue-token|delete`: non-human callers of a tenant,
such as the platform asking the decision API.

    service_account create --tenant T --name NAME [--description D] [--json]
    service_account list --tenant T [--json]
    service_account issue-token --tenant T --name NAME [--lifetime-days N] [--json]
    service_account delete --tenant T --name NAME [--json]

`issue-token` prints the token once (only its digest is stored). What the account may do comes
from its role bindings (`manage.py binding create --service-account NAME …`). Writes are
audited; errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from django.core.management.base import CommandParser
from django.db.models import ProtectedError

from kestra_iam.management.audited import Deleted
from kestra_iam.management.tenant_commands import TenantIAMCommand
from kestra_iam.models import ServiceAccount
from kestra_iam.rbac.services import (
    service_account_create,
    service_account_named,
)
from kestra_iam.services import DomainError, api_token_issue, live_tokens

MAX_LIFETIME_DAYS = 3650


def lifetime_days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIFETIME_DAYS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of days from 1 to {MAX_LIFETIME_DAYS}; leave the option "
            "out for a token that never expires."
        )
    return int(text)


class Command(TenantIAMCommand):
    help = "Create, list, issue tokens to and delete a tenant's service accounts."
    resource, resource_type = "service_account", "serviceaccount"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{create,list,issue-token,delete}"
        )
        create = self.add_action(actions, "create", "Create a service account.")
        create.add_argument("--name", required=True)
        create.add_argument("--description", default="")
        self.add_action(actions, "list", "List the tenant's service accounts.")
        issue = self.add_action(actions, "issue-token", "Issue an API token; shown once.")
        issue.add_argument("--name", required=True)
        issue.add_argument("--lifetime-days", type=lifetime_days, default=None)
        delete = self.add_action(actions, "delete", "Delete it, with its tokens and bindings.")
        delete.add_argument("--name", required=True)

    def do_create(self, tenant, options: dict) -> ServiceAccount:
        account = service_account_create(
            tenant=tenant, name=options["name"], description=options["description"]
        )
        if options["json"]:
            self.stdout.write(json.dumps(account_as_dict(account)))
        else:
            self.stdout.write(
                f"Service account '{account.name}' created in {tenant.pk}; it holds nothing "
                "until a role is bound to it."
            )
        return account

    def do_issue_token(self, tenant, options: dict) -> ServiceAccount:
        account = service_account_named(tenant, options["name"])
        days = options["lifetime_days"]
        issued = api_token_issue(
            service_account=account, lifetime=timedelta(days=days) if days else None
        )
        if options["json"]:
            self.stdout.write(json.dumps({**account_as_dict(account), "token": issued.raw}))
        else:
            self.stdout.write(
                f"Token for '{account.name}' in {tenant.pk}:\n{issued.raw}\n"
                "Copy it now: it is not shown again."
            )
        return account

    def do_delete(self, tenant, options: dict) -> Deleted:
        account = service_account_named(tenant, options["name"])
        summary = account_as_dict(account)
        try:
            account.delete()
        except ProtectedError as exc:
            users = ", ".join(sorted({str(obj) for obj in exc.protected_objects}))
            raise DomainError(
                f"'{account.name}' is still used by {users}; delete that first (a provisioning "
                "integration's account goes with the integration)."
            ) from None
        if options["json"]:
            self.stdout.write(json.dumps({**summary, "deleted": True}))
        else:
            self.stdout.write(f"Service account '{summary['name']}' deleted from {tenant.pk}.")
        return self.deleted(summary, tenant)

    def do_list(self, tenant, options: dict) -> None:
        accounts = ServiceAccount.objects.for_tenant(tenant).order_by("name")
        if options["json"]:
            self.stdout.write(json.dumps([account_as_dict(a) for a in accounts], indent=2))
            return
        for account in accounts:
            self.stdout.write(
                f"{account.name}\t{live_tokens(account).count()} live token(s)\t"
                f"{account.description}"
            )


def account_as_dict(account: ServiceAccount) -> dict:
    return {
        "id": account.pk,
        "tenant": account.tenant_id,
        "name": account.name,
        "description": account.description,
    }
