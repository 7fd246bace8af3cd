"""`manage.py binding create|list|delete`: give a role to a user, group or service account.

    binding create --tenant T --role NAME (--user USERNAME | --group NAME |
                   --service-account NAME) [--namespace N] [--json]
    binding list --tenant T [--role NAME] [--user U | --group G | --service-account S] [--json]
    binding delete --tenant T BINDING_ID [--json]

A binding with a namespace grants the role there and in every namespace below it; without one,
in the whole tenant. Writes are audited; errors are one line on stderr and exit status 1.
"""

from __future__ import annotations

import json

from django.core.management.base import CommandParser

from kestra_iam.management.audited import Deleted
from kestra_iam.management.tenant_commands import TenantIAMCommand
from kestra_iam.models import Binding
from kestra_iam.rbac.services import (
    binding_create,
    binding_delete,
    group_named,
    role_named,
    service_account_named,
    subject_label,
    user_named,
)
from kestra_iam.services import DomainError


class Command(TenantIAMCommand):
    help = "Create, list and delete role bindings."
    resource = resource_type = "binding"

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{create,list,delete}"
        )
        create = self.add_action(actions, "create", "Give a role to a subject.")
        create.add_argument("--role", required=True, help="The role's name.")
        self._subject(create, required=True)
        create.add_argument("--namespace", default="", help="Limit it to this namespace and below.")
        listing = self.add_action(actions, "list", "List bindings.")
        listing.add_argument("--role", help="Only this role's.")
        self._subject(listing, required=False)
        delete = self.add_action(actions, "delete", "Delete a binding (see list for its id).")
        delete.add_argument("binding_id", type=int)

    @staticmethod
    def _subject(parser, *, required: bool) -> None:
        who = parser.add_mutually_exclusive_group(required=required)
        who.add_argument("--user", help="A user's userName (any case).")
        who.add_argument("--group", help="A group's displayName (any case).")
        who.add_argument("--service-account", help="A service account's name.")

    def do_create(self, tenant, options: dict) -> Binding:
        binding = binding_create(
            tenant=tenant,
            role=role_named(tenant, options["role"]),
            namespace=options["namespace"],
            **self._subject_of(tenant, options),
        )
        if options["json"]:
            self.stdout.write(json.dumps(binding_as_dict(binding)))
        else:
            self.stdout.write(f"Binding {binding.pk}: {describe(binding)}.")
        return binding

    def do_delete(self, tenant, options: dict) -> Deleted:
        binding = (
            Binding.objects.for_tenant(tenant)
            .select_related("role", "user", "group", "service_account")
            .filter(pk=options["binding_id"])
            .first()
        )
        if binding is None:
            raise DomainError(f"Tenant {tenant.pk!r} has no binding {options['binding_id']}.")
        summary = binding_as_dict(binding)
        binding_delete(binding=binding)
        if options["json"]:
            self.stdout.write(json.dumps({**summary, "deleted": True}))
        else:
            self.stdout.write(f"Binding {summary['id']} deleted: {summary['text']}.")
        return self.deleted(summary, tenant)

    def do_list(self, tenant, options: dict) -> None:
        bindings = Binding.objects.for_tenant(tenant).select_related(
            "role", "user", "group", "service_account"
        )
        if options["role"]:
            bindings = bindings.filter(role=role_named(tenant, options["role"]))
        subject = self._subject_of(tenant, options) if self._names_subject(options) else {}
        bindings = bindings.filter(**subject).order_by("role__name", "pk")
        if options["json"]:
            self.stdout.write(json.dumps([binding_as_dict(b) for b in bindings], indent=2))
            return
        for binding in bindings:
            self.stdout.write(f"{binding.pk:>6}  {describe(binding)}")

    @staticmethod
    def _names_subject(options: dict) -> bool:
        return any(options[name] for name in ("user", "group", "service_account"))

    @staticmethod
    def _subject_of(tenant, options: dict) -> dict:
        if options["user"]:
            return {"user": user_named(options["user"])}
        if options["group"]:
            return {"group": group_named(tenant, options["group"])}
        return {"service_account": service_account_named(tenant, options["service_account"])}


def describe(binding: Binding) -> str:
    where = f"on namespace {binding.namespace}" if binding.namespace else "tenant-wide"
    return f"role {binding.role.name} → {subject_label(binding.subject)}, {where}"


def binding_as_dict(binding: Binding) -> dict:
    subject = binding.subject
    kind = "user" if binding.user_id else "group" if binding.group_id else "serviceAccount"
    name = {
        "user": lambda: subject.user_name,
        "group": lambda: subject.display_name,
        "serviceAccount": lambda: subject.name,
    }[kind]()
    return {
        "id": binding.pk,
        "tenant": binding.tenant_id,
        "role": binding.role.name,
        "subject": {"type": kind, "id": str(subject.pk), "name": name},
        "namespace": binding.namespace or None,
        "text": describe(binding),
    }
