"""Who a verified sign-in is: an existing provisioned person, never a new account.

Provisioning is the source of truth: a person is found by the claim the identity provider and
the SCIM mapping share — the userName (Entra's `preferred_username`, the UPN), or, stronger, a
tenant profile's externalId (Entra's `oid`, once the provisioning mapping sends objectId as
externalId) — and must have an active access somewhere. A site administrator (a superuser) is
refused: they sign in with their password, so that no identity provider, and no tenant whose
provisioning wrote a matching userName, can speak for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kestra_iam.models import TenantAccess, User
from kestra_iam.text import case_insensitive_key
from signin.conf import MATCH_EXTERNAL_ID, OIDCConfig


@dataclass(frozen=True)
class Match:
    user: User | None
    refusal: str = ""  # why not, in words for the person
    claimed: str = ""  # the value the token claimed, for the trail
    active_tenants: tuple[str, ...] = ()
    disabled_tenants: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.user is not None and not self.refusal


def match_person(config: OIDCConfig, claims: dict) -> Match:
    if config.match == MATCH_EXTERNAL_ID:
        claim_name = config.external_id_claim
        claimed = str(claims.get(claim_name) or "")
        users = User.objects.filter(accesses__external_id=claimed).distinct() if claimed else []
    else:
        claim_name = config.user_name_claim
        claimed = str(claims.get(claim_name) or "")
        key = case_insensitive_key(claimed)
        users = User.objects.filter(user_name_key=key) if claimed else []
    if not claimed:
        return Match(None, f"the identity provider sent no {claim_name} claim")
    users = list(users[:2])
    if not users:
        return Match(None, "you have not been provisioned to any tenant here", claimed)
    if len(users) > 1:
        return Match(
            None, f"more than one person here has the {claim_name} you signed in with", claimed
        )
    (user,) = users
    if user.is_superuser:
        return Match(None, "site administrators sign in with their password", claimed)
    if not user.is_active:
        return Match(None, "your account here is deactivated", claimed)
    accesses = TenantAccess.objects.filter(user=user).values_list("tenant_id", "active")
    active = tuple(sorted(t for t, on in accesses if on is not False))
    disabled = tuple(sorted(t for t, on in accesses if on is False))
    if not active:
        return Match(user, "your access has been disabled or removed", claimed, (), disabled)
    return Match(user, "", claimed, active, disabled)
