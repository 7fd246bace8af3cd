"""What the integration's page shows about its health: readiness, activity, what it provisioned,
its last request and its latest refusals and failures, and where everything around it lives.

Reads only; the admin page renders what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils.http import urlencode

from kestra_iam.models import AuditEvent, Binding, Group, TenantAccess
from provisioning.activity import Bucket, integration_activity, summary
from provisioning.models import ProvisioningIntegration
from provisioning.provisioner_role import provisioner_role
from provisioning.readiness import Check, integration_readiness, is_ready

RECENT_PROBLEMS = 10


@dataclass(frozen=True)
class Console:
    checks: list[Check]
    ready: bool
    activity: list[Bucket]
    activity_summary: str
    users: int
    groups: int
    last_request_at: datetime | None
    last_event: AuditEvent | None
    problems: list[AuditEvent]
    links: list[tuple[str, str]]  # (label, admin URL)

    @property
    def needs_repair(self) -> bool:
        return any(not check.ok for check in self.checks if check.key in ("role", "binding"))


def _admin(name: str, *args, query: dict | None = None) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def _links(integration: ProvisioningIntegration) -> list[tuple[str, str]]:
    links = []
    role = provisioner_role(integration.tenant_id)
    if role is not None:
        links.append((f"Role {role.name}", _admin("kestra_iam_role_change", role.pk)))
    account = integration.service_account
    if account is not None:
        links.append(
            (
                f"Service account {account.name}",
                _admin("kestra_iam_serviceaccount_change", account.pk),
            )
        )
        links.append(
            (
                "Its bindings",
                _admin(
                    "kestra_iam_binding_changelist",
                    query={"q": account.name},
                ),
            )
        )
    links.append(
        (
            "Audit events",
            _admin("kestra_iam_auditevent_changelist", query={"integration": str(integration.pk)}),
        )
    )
    return links


def integration_console(integration: ProvisioningIntegration) -> Console:
    activity = integration_activity(integration.pk)
    checks = integration_readiness(integration, activity=activity)
    events = AuditEvent.objects.filter(
        integration_id=integration.pk, actor_type=AuditEvent.ActorType.SERVICE_ACCOUNT
    )
    return Console(
        checks=checks,
        ready=is_ready(checks),
        activity=activity,
        activity_summary=summary(activity, unit="hour"),
        users=TenantAccess.objects.filter(
            tenant_id=integration.tenant_id, provisioned_by_id=integration.pk
        ).count(),
        groups=Group.objects.filter(
            tenant_id=integration.tenant_id, provisioned_by_id=integration.pk
        ).count(),
        last_request_at=integration.last_request_at,
        last_event=events.first(),
        problems=list(events.filter(outcome__gte=400)[:RECENT_PROBLEMS]),
        links=_links(integration),
    )


def integration_dependents(
    integration: ProvisioningIntegration,
) -> list[tuple[str, str, list[str]]]:
    """What deleting the integration deletes with it: its service account, that account's
    tokens and its bindings. The audit trail and the role stay."""
    account = integration.service_account
    if account is None:
        return []
    tokens = [
        f"{token}{' (revoked)' if token.revoked_at else ' (expired)' if token.is_expired else ''}"
        for token in account.tokens.order_by("created_at", "pk")
    ]
    bindings = [
        str(binding)
        for binding in Binding.objects.filter(service_account=account).select_related(
            "role", "service_account"
        )
    ]
    return [
        ("Service account", "service accounts", [account.name]),
        ("API token", "API tokens", tokens),
        ("Binding", "bindings", bindings),
    ]
