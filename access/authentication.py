"""Who may ask: a service account of the tenant in the URL, by one of its API tokens.

Any failure — no header, another scheme, an unknown, revoked or expired token, a token of
another tenant — is the same 401, so nothing tells a prober which part was wrong. The token is
read on every request (one indexed query): a revoked token stops working at once, in every
process, with no cache to invalidate.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from kestra_iam.models import ServiceAccount, Tenant
from kestra_iam.services import api_token_authenticate


@dataclass(frozen=True)
class Caller:
    """The authenticated service account; doubles as `request.user` and `request.auth`."""

    service_account: ServiceAccount

    is_authenticated = True
    is_anonymous = False

    @property
    def tenant(self) -> Tenant:
        return self.service_account.tenant


class ServiceAccountTokenAuthentication(BaseAuthentication):
    @sensitive_variables("header", "raw")
    def authenticate(self, request) -> tuple[Caller, Caller]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.strip().partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            raise AuthenticationFailed()
        token = api_token_authenticate(raw)
        if token is None:
            raise AuthenticationFailed()
        account = token.service_account
        if account.tenant_id != request.parser_context["kwargs"].get("tenant_id"):
            raise AuthenticationFailed()
        caller = Caller(account)
        return caller, caller

    def authenticate_header(self, request) -> str:
        return "Bearer"
