"""Sign-ins and their refusals in the audit trail: one event per tenant the person's access
is in (so each tenant's administrators see their people's sign-ins), a global one when no
tenant is concerned (an unknown person, a bad token), which the site administrator sees."""

from __future__ import annotations

from django.db import transaction

from kestra_iam.audit import AuditEntry
from kestra_iam.models import AuditEvent

SIGN_IN = "signin.oidc.sign_in"
SESSION_ENDED = "signin.oidc.session_ended"


def _entry(request, actor: str, tenant_id: str, action: str, user=None) -> AuditEntry:
    return AuditEntry(
        action=action,
        actor_type=AuditEvent.ActorType.ADMIN,
        actor=actor[:256] or "(unknown)",
        tenant_id=tenant_id,
        resource_type="user" if user is not None else "",
        resource_id=str(user.pk) if user is not None else "",
        request_id=getattr(request, "request_id", ""),
    )


def record_sign_in(request, user, tenant_ids, *, provider: str) -> None:
    with transaction.atomic():
        for tenant_id in tenant_ids:
            _entry(request, user.user_name, tenant_id, SIGN_IN, user).record(
                subject=user.user_name, detail=f"signed in with {provider}"
            )


def record_refusal(request, actor: str, reason: str, *, user=None, tenant_ids=()) -> None:
    for tenant_id in tenant_ids or ("",):
        _entry(request, actor, tenant_id, SIGN_IN, user).record_refusal(outcome=403, detail=reason)


def record_session_ended(request, user, reason: str) -> None:
    _entry(request, user.user_name, "", SESSION_ENDED, user).record_refusal(
        outcome=401, detail=reason
    )
