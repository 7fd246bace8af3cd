"""The authorization-code flow with PKCE, state and nonce, by Authlib.

Authlib reads the provider's discovery document, sends the S256 code challenge, keeps state,
nonce and code verifier in the session, and validates the ID token it gets back — signature
against the provider's JWKS, issuer against the discovery document's, audience against our
client id, expiry and nonce — so none of that is written here. (mozilla-django-oidc, the other
well-kept choice, takes no discovery URL and leaves the issuer unchecked.)
"""

from __future__ import annotations

import functools

from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.django_client import OAuth
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError

from signin.conf import OIDCConfig

TIMEOUT_SECONDS = 10


@functools.lru_cache(maxsize=4)
def client(config: OIDCConfig):
    """One Authlib client per configuration (its discovery document and keys are kept)."""
    registry = OAuth()
    return registry.register(
        name="oidc",
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.discovery_url,
        client_kwargs={
            "scope": config.scopes,
            "code_challenge_method": "S256",
            "timeout": TIMEOUT_SECONDS,
        },
    )


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message says why, for the page."""


def verified_claims(config: OIDCConfig, request) -> dict:
    """The ID token's claims once Authlib has validated the callback and the token."""
    if request.GET.get("error"):
        described = request.GET.get("error_description") or request.GET["error"]
        raise SignInFailed(f"the identity provider did not sign you in: {described}")
    oidc = client(config)
    try:
        # The audience is asked for explicitly: by itself Authlib checks only `azp`, which a
        # token issued to another application may still carry with our client id. Asking for
        # it replaces Authlib's issuer check, made below against the discovery document.
        token = oidc.authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True},
                "aud": {"essential": True, "value": config.client_id},
            },
        )
        claims = token.get("userinfo") or {}
        if claims and claims.get("iss") != oidc.load_server_metadata().get("issuer"):
            raise SignInFailed("the identity provider's token has an invalid claim: iss")
    except MismatchingStateError as exc:
        raise SignInFailed("the sign-in's state did not match: start again") from exc
    except ExpiredTokenError as exc:
        raise SignInFailed("the identity provider's token has expired") from exc
    except BadSignatureError as exc:
        raise SignInFailed("the identity provider's token has an invalid signature") from exc
    except ClaimError as exc:
        claim = getattr(exc, "claim", "") or str(exc)
        raise SignInFailed(f"the identity provider's token has an invalid claim: {claim}") from exc
    except (OAuthError, JoseError, ValueError, KeyError) as exc:
        raise SignInFailed(f"the identity provider's answer was refused: {exc}") from exc
    except OSError as exc:  # the provider unreachable (requests' errors are OSErrors)
        raise SignInFailed("the identity provider could not be reached") from exc
    if not claims:
        raise SignInFailed("the identity provider sent no ID token")
    return dict(claims)
