"""Refused Secret Tokens, counted so that an integration's page can say "12 requests with a
revoked token, last 10:42": after a rotation, the identity provider still sending the old token is
the first thing an admin needs to see.

One row per integration and reason, updated in place: a flood of refused requests costs one
UPDATE each and never grows a table. Recording is best effort — a refusal is answered 401
whether or not it could be counted.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils.timezone import now

from kestra_iam.models import ApiToken
from observability.availability import DATABASE_OUTAGE, is_unavailable
from provisioning.models import ProvisioningIntegration, TokenRefusal

logger = logging.getLogger(__name__)


def record_token_refusal(token: ApiToken, reason: str) -> None:
    """Count a request refused with `token`, if it is an integration's Secret Token."""
    integration = getattr(token.service_account, "integration", None)
    if not isinstance(integration, ProvisioningIntegration):
        return
    try:
        with transaction.atomic():
            _count(integration, reason, token.display)
    except DatabaseError as exc:
        if is_unavailable(exc):
            DATABASE_OUTAGE.failed(exc)
        else:
            logger.warning("Could not count a refused token: %s", type(exc).__name__)


def _count(integration: ProvisioningIntegration, reason: str, key: str) -> None:
    at = now()
    refusals = TokenRefusal.objects.filter(integration=integration, reason=reason)
    if refusals.update(count=F("count") + 1, last_at=at, last_key=key):
        return
    try:
        with transaction.atomic():
            TokenRefusal.objects.create(
                integration=integration, reason=reason, count=1, first_at=at, last_at=at,
                last_key=key,
            )  # fmt: skip
    except IntegrityError:  # a concurrent refusal created it first
        refusals.update(count=F("count") + 1, last_at=at, last_key=key)


def refusals_of(integration: ProvisioningIntegration) -> list[TokenRefusal]:
    return list(integration.token_refusals.order_by("-last_at"))
