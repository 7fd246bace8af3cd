"""What the integration's page shows about its health: readiness, activity, what it provisioned,
its last request and its latest refusals and failures, and where everything around it lives.

Reads only; the admin page renders what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils.http import urlencode

from kestra_iam.audit_story import sentence
from kestra_iam.models import AuditEvent, Binding, Group, TenantAccess
from provisioning.activity import (
    DEFAULT_PERIOD,
    PERIODS,
    Bucket,
    Period,
    integration_activity,
    period_activity,
    summary,
)
from provisioning.models import ProvisioningIntegration, TokenRefusal
from provisioning.provisioner_role import provisioner_role
from provisioning.readiness import Check, integration_readiness, is_ready
from provisioning.refusals import refusals_of

RECENT_PROBLEMS = 10


@dataclass(frozen=True)
class Console:
    checks: list[Check]
    ready: bool
    period: Period
    activity: list[Bucket]  # over `period`
    activity_summary: str
    users: int
    groups: int
    last_request_at: datetime | None
    last_event: AuditEvent | None
    last_event_sentence: str
    problems: list[Problem]
    token_refusals: list[TokenRefusal]
    links: list[tuple[str, str]]  # (label, admin URL)
    users_url: str
    groups_url: str

    @property
    def periods(self) -> list[Period]:
        return list(PERIODS.values())

    @property
    def has_activity(self) -> bool:
        return any(bucket.total for bucket in self.activity)

    @property
    def needs_repair(self) -> bool:
        return self.first_repair_index is not None

    @property
    def first_repair_index(self) -> int | None:
        """Where the one "Repair role and binding" button goes: the first failing check it
        fixes."""
        return next(
            (n for n, c in enumerate(self.checks) if not c.ok and c.key in ("role", "binding")),
            None,
        )


@dataclass(frozen=True)
class Problem:
    event: AuditEvent
    sentence: str


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


def integration_console(
    integration: ProvisioningIntegration, *, period: Period = DEFAULT_PERIOD
) -> Console:
    hourly = integration_activity(integration.pk)  # what readiness judges errors by
    checks = integration_readiness(integration, activity=hourly)
    activity = period_activity(integration.pk, period, hourly=hourly)
    events = AuditEvent.objects.filter(
        integration_id=integration.pk, actor_type=AuditEvent.ActorType.SERVICE_ACCOUNT
    )
    last_event = events.first()
    problems = list(events.filter(outcome__gte=400)[:RECENT_PROBLEMS])
    # Told as the trail tells them, the integration by its own name.
    told = {e.pk: sentence(e, integration.name) for e in [*problems, *filter(None, [last_event])]}
    by_integration = {"integration": str(integration.pk)}
    return Console(
        checks=checks,
        ready=is_ready(checks),
        period=period,
        activity=activity,
        activity_summary=summary(activity, unit=period.unit, span=period.label),
        users=TenantAccess.objects.filter(
            tenant_id=integration.tenant_id, provisioned_by_id=integration.pk
        ).count(),
        groups=Group.objects.filter(
            tenant_id=integration.tenant_id, provisioned_by_id=integration.pk
        ).count(),
        last_request_at=integration.last_request_at,
        last_event=last_event,
        last_event_sentence=told.get(last_event.pk, "") if last_event else "",
        problems=[Problem(event, told[event.pk]) for event in problems],
        token_refusals=refusals_of(integration),
        links=_links(integration),
        users_url=_admin("kestra_iam_user_changelist", query=by_integration),
        groups_url=_admin("kestra_iam_group_changelist", query=by_integration),
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
