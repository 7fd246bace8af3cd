"""The OpenID provider this site trusts, from `settings.OIDC` (the `OIDC_*` variables)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

MATCH_USER_NAME = "userName"
MATCH_EXTERNAL_ID = "externalId"


@dataclass(frozen=True)
class OIDCConfig:
    discovery_url: str  # the provider's /.well-known/openid-configuration; its issuer is checked
    client_id: str
    client_secret: str
    scopes: str = "openid profile email"
    provider_name: str = "Microsoft"  # the button says "Sign in with <provider_name>"
    # How a signed-in person is found among the provisioned ones: by userName (the default: the
    # `preferred_username` claim, Entra's UPN) or by a tenant profile's externalId (the `oid`
    # claim, Entra's immutable object id, once the SCIM mapping sends objectId as externalId).
    match: str = MATCH_USER_NAME
    user_name_claim: str = "preferred_username"
    external_id_claim: str = "oid"


def oidc_config() -> OIDCConfig | None:
    """The configured provider, or None when sign-in with one is off."""
    raw = getattr(settings, "OIDC", None) or {}
    if not raw.get("discovery_url") or not raw.get("client_id"):
        return None
    return OIDCConfig(**raw)
