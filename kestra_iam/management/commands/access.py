"""`manage.py access check|list`: ask the access decisions engine, like `kubectl auth can-i`.

    access check --tenant T (--user USERNAME | --service-account NAME) --permission RES:ACTION
                 [--namespace N] [--json]
    access list  --tenant T (--user USERNAME | --service-account NAME) [--json]

`check` exits 0 when allowed, 1 when denied, 2 on bad input (an unknown tenant or subject, a
malformed permission or namespace); `list` prints the effective permissions by namespace, each
with where it comes from. Reads only: nothing is audited.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kestra_iam.permissions import Permission
from kestra_iam.rbac.documents import decision_document, permissions_document
from kestra_iam.rbac.engine import (
    DENIAL_TEXT,
    Check,
    Denial,
    UnknownSubject,
    check_access,
    subject_permissions,
)
from kestra_iam.rbac.policy import AccessState, SubjectRef
from kestra_iam.rbac.services import tenant_named
from kestra_iam.services import DomainError

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Check what a user or service account may do in a tenant, and why."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{check,list}")
        check = actions.add_parser(
            "check", help="May the subject do this? Exit 0 allowed, 1 denied, 2 bad input."
        )
        self._subject_arguments(check)
        check.add_argument(
            "--permission", required=True, help="RESOURCE:ACTION, e.g. FLOWS:UPDATE."
        )
        check.add_argument(
            "--namespace", default="", help="Where (and below); leave out for the tenant."
        )
        check.add_argument("--json", action="store_true")
        listing = actions.add_parser(
            "list", help="Everything the subject holds, by namespace, with where it comes from."
        )
        self._subject_arguments(listing)
        listing.add_argument("--json", action="store_true")

    @staticmethod
    def _subject_arguments(parser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant id.")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="A user's userName (any case).")
        who.add_argument("--service-account", help="A service account's name in the tenant.")

    def handle(self, *args, action: str, **options) -> None:
        try:
            tenant = tenant_named(options["tenant"])
        except DomainError as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from None
        subject = (
            SubjectRef("user_name", options["user"])
            if options["user"] is not None
            else SubjectRef("service_account", options["service_account"])
        )
        if action == "check":
            self.do_check(tenant, subject, options)
        else:
            self.do_list(tenant, subject, options)

    def do_check(self, tenant, subject: SubjectRef, options: dict) -> None:
        try:
            permission = Permission.parse(options["permission"])
            check = Check(subject, permission, options["namespace"])
        except ValidationError as exc:
            flag = (
                "--namespace"
                if exc.code in ("invalid_namespace", "not_namespaced")
                else ("--permission")
            )
            raise CommandError(f"{flag}: {' '.join(exc.messages)}", returncode=BAD_INPUT) from None
        (decision,) = check_access(tenant=tenant, checks=[check])
        if decision.denial is Denial.UNKNOWN_SUBJECT:
            raise CommandError(_unknown(subject, tenant), returncode=BAD_INPUT)
        if options["json"]:
            self.stdout.write(json.dumps(decision_document(decision), indent=2))
        else:
            self.stdout.write(decision.explain())
        if not decision.allowed:
            raise SystemExit(1)  # denied is an answer, not an error: nothing on stderr

    def do_list(self, tenant, subject: SubjectRef, options: dict) -> None:
        try:
            held = subject_permissions(tenant=tenant, subject=subject)
        except UnknownSubject:
            raise CommandError(_unknown(subject, tenant), returncode=BAD_INPUT) from None
        if options["json"]:
            self.stdout.write(json.dumps(permissions_document(held), indent=2))
            return
        if held.subject.access is not AccessState.ACTIVE:
            denial = (
                Denial.NO_ACCESS
                if held.subject.access is AccessState.NONE
                else (Denial.ACCESS_DISABLED)
            )
            self.stdout.write(
                f"{subject.value} holds nothing in {tenant.pk}: {DENIAL_TEXT[denial]}."
            )
            return
        if not held.permissions:
            self.stdout.write(f"{subject.value} holds no permission in {tenant.pk}.")
            return
        width = max(len(str(entry.permission)) for entry in held.permissions)
        for entry in held.permissions:
            where = entry.namespace or "(tenant-wide)"
            why = "; ".join(grant.describe() for grant in entry.reasons)
            self.stdout.write(f"{where:24} {entry.permission!s:{width}}  {why}")


def _unknown(subject: SubjectRef, tenant) -> str:
    if subject.kind == "service_account":
        return f"Tenant {tenant.pk!r} has no service account {subject.value!r}."
    return f"There is no user {subject.value!r}."
