"""Can an integration provision right now? Each check is green or red, with the fix.

Shown on the integration's page and printed by `manage.py integration check <id> [--json]`;
`manage.py check` warns about every integration whose role or binding no longer lets SCIM work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.utils.timezone import now

from kestra_iam.models import ApiToken, Binding
from kestra_iam.permissions import permission_pairs
from kestra_iam.services import live_tokens
from provisioning.activity import Bucket, integration_activity
from provisioning.models import ProvisioningIntegration
from provisioning.provisioner_role import NEEDED_GRANTS, SCIM_PROVISIONER_ROLE, provisioner_role
from provisioning.tenancy import TENANCY_REQUIRED, tenancy_enabled

EXPIRY_WARNING = timedelta(days=30)
ERROR_WINDOW_HOURS = 24
MAX_FAILED_SHARE = 0.05  # server errors among the last day's writes
MAX_REFUSED_SHARE = 0.25  # 4xx among them: a few conflicts are normal, many are a mapping issue
MIN_REFUSED = 10  # below this, a share says nothing (one 409 in a first sync of three writes)


@dataclass(frozen=True)
class Check:
    key: str  # tenancy, enabled, token, role, binding, errors
    label: str
    ok: bool
    detail: str
    fix: str = ""


ENABLE = "the Enable button on its page or in the list"


def _repair(integration) -> str:
    return (
        "Use “Repair role and binding” on this page, or run "
        f"manage.py integration repair {integration.pk}."
    )


@dataclass(frozen=True)
class TokenState:
    """What an integration's live tokens add up to, in the words the admin shows."""

    live: bool
    expires_at: datetime | None  # the newest token's; None when none is live or one never expires

    @property
    def expiring(self) -> bool:
        return self.expires_at is not None and self.expires_at - now() <= EXPIRY_WARNING

    @property
    def label(self) -> str:
        if not self.live:
            return "no valid token — rotate"
        if self.expires_at is None:
            return "never expires"
        return f"expires in {time_left(self.expires_at - now())}"


def token_state(tokens: Iterable[ApiToken]) -> TokenState:
    """From the integration's unrevoked tokens (already fetched: the list prefetches them)."""
    expiries = [token.expires_at for token in tokens if not token.is_expired]
    if not expiries:
        return TokenState(live=False, expires_at=None)
    if any(expiry is None for expiry in expiries):
        return TokenState(live=True, expires_at=None)
    return TokenState(live=True, expires_at=max(expiries))


def time_left(left: timedelta) -> str:
    """Rounded to the nearest day: a 10-day token just issued expires "in 10 days", not 9."""
    if left < timedelta(days=1):
        return "less than a day"
    days = round(left.total_seconds() / 86400)
    return f"{days} day{'s' if days != 1 else ''}"


def _token(integration: ProvisioningIntegration) -> Check:
    label = "Secret Token live"
    account = integration.service_account
    state = token_state(live_tokens(account) if account else [])
    if not state.live:
        return Check(
            "token",
            label,
            False,
            "No valid token: the endpoint answers 401.",
            "Rotate the token and paste the new one into the identity provider.",
        )
    if state.expires_at is None:
        return Check("token", label, True, "A token that never expires is live.")
    detail = f"The newest token expires on {state.expires_at:%Y-%m-%d}."
    if state.expiring:
        return Check(
            "token",
            label,
            False,
            f"{detail} That is in {time_left(state.expires_at - now())}.",
            "Rotate the token before then, and paste the new one.",
        )
    return Check("token", label, True, detail)


def role_and_binding_checks(integration: ProvisioningIntegration) -> list[Check]:
    """Does the tenant's SCIMProvisioner role grant exactly what SCIM needs, and is the
    integration's service account bound to it? (What an admin can break by editing roles.)"""
    role = provisioner_role(integration.tenant_id)
    if role is None:
        return [
            Check(
                "role",
                "Role grants what SCIM needs",
                False,
                f"The tenant has no role {SCIM_PROVISIONER_ROLE}: every request is refused.",
                _repair(integration),
            ),
            Check(
                "binding",
                "Service account bound to the role",
                False,
                "Nothing to bind to: the role is gone.",
                _repair(integration),
            ),
        ]
    granted = set(permission_pairs(role.permissions or {}))
    missing, extra = sorted(NEEDED_GRANTS - granted), sorted(granted - NEEDED_GRANTS)
    if missing:
        role_check = Check(
            "role",
            "Role grants what SCIM needs",
            False,
            f"{SCIM_PROVISIONER_ROLE} lacks {', '.join(missing)}: those requests get 403.",
            _repair(integration),
        )
    elif extra:
        role_check = Check(
            "role",
            "Role grants what SCIM needs",
            False,
            f"{SCIM_PROVISIONER_ROLE} also grants {', '.join(extra)}, more than SCIM needs.",
            _repair(integration),
        )
    else:
        role_check = Check(
            "role",
            "Role grants what SCIM needs",
            True,
            f"{SCIM_PROVISIONER_ROLE} grants exactly what SCIM needs.",
        )
    bound = (
        integration.service_account_id is not None
        and Binding.objects.filter(
            tenant_id=integration.tenant_id,
            role=role,
            service_account_id=integration.service_account_id,
        ).exists()
    )
    binding_check = Check(
        "binding",
        "Service account bound to the role",
        bound,
        f"The service account is {'' if bound else 'not '}bound to {SCIM_PROVISIONER_ROLE}.",
        "" if bound else _repair(integration),
    )
    return [role_check, binding_check]


def _errors(integration: ProvisioningIntegration, activity: list[Bucket] | None) -> Check:
    label = "Recent requests succeed"
    # The last 24 hours of the console's hourly series: the completed hours are cached, so a
    # busy integration's check reads the trail only for the current hour.
    if activity is None:
        activity = integration_activity(integration.pk)
    hours = activity[-ERROR_WINDOW_HOURS:]
    counts = {
        "total": sum(b.total for b in hours),
        "refused": sum(b.refused for b in hours),
        "failed": sum(b.failed for b in hours),
    }
    total, refused, failed = counts["total"], counts["refused"], counts["failed"]
    detail = (
        f"Last 24 h: {total} write{'s' if total != 1 else ''}, {refused} refused, {failed} failed."
    )
    if total and failed / total > MAX_FAILED_SHARE:
        return Check(
            "errors",
            label,
            False,
            detail,
            "Server errors: see the failures below and the service's logs.",
        )
    if refused >= MIN_REFUSED and refused / total > MAX_REFUSED_SHARE:
        return Check(
            "errors",
            label,
            False,
            detail,
            "Many refusals: see their details below (attribute mappings, permissions).",
        )
    return Check("errors", label, True, detail)


def integration_readiness(
    integration: ProvisioningIntegration, *, activity: list[Bucket] | None = None
) -> list[Check]:
    """The checks, in the order an admin fixes them. `activity`: the hourly series, if the
    caller has it already (the console does)."""
    tenancy = tenancy_enabled()
    return [
        Check(
            "tenancy",
            "Tenancy on",
            tenancy,
            "Tenants are enabled." if tenancy else "Tenants are disabled.",
            "" if tenancy else TENANCY_REQUIRED,
        ),
        Check(
            "enabled",
            "Integration enabled",
            integration.enabled,
            "It accepts requests." if integration.enabled else "Every request gets 403.",
            ""
            if integration.enabled
            else f"Enable it: {ENABLE}, or run manage.py integration enable {integration.pk}.",
        ),
        _token(integration),
        *role_and_binding_checks(integration),
        _errors(integration, activity),
    ]


def is_ready(checks: list[Check]) -> bool:
    return all(check.ok for check in checks)


def as_json(integration: ProvisioningIntegration, checks: list[Check]) -> dict:
    return {
        "id": str(integration.pk),
        "tenant": integration.tenant_id,
        "name": integration.name,
        "ready": is_ready(checks),
        "checks": [asdict(check) for check in checks],
    }
