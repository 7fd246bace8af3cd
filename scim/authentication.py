"""Bearer-token authentication of SCIM requests, bound to the integration in the URL."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.views.decorators.debug import sensitive_variables
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from kestra_iam.authorisation import AuthorisationChanged
from kestra_iam.db import piggyback
from kestra_iam.models import ApiToken, AuthGeneration, Binding, ServiceAccount, Tenant
from kestra_iam.permissions import Permission
from kestra_iam.rbac.grants import Grant, Source, permissions_of, reasons_for
from kestra_iam.services import api_token_authenticate, touch
from observability.metrics import AUTH_FAILURES
from provisioning.models import ProvisioningIntegration
from provisioning.refusals import record_token_refusal


@dataclass
class SCIMPrincipal:
    """Who is calling: an integration's service account, through one of its tokens.

    Doubles as `request.user` and `request.auth`. The tenant comes from here, never from the
    body or the query string.
    """

    token: ApiToken
    service_account: ServiceAccount
    integration: ProvisioningIntegration
    _grants: list[Grant] | None = field(default=None, repr=False)

    is_authenticated = True
    is_anonymous = False

    @property
    def tenant(self) -> Tenant:
        return self.service_account.tenant

    def allows(self, permission: Permission) -> bool:
        """Whether the service account's role bindings allow `permission` in its tenant —
        decided by the same rule as every other access decision (`kestra_iam.rbac.grants`)."""
        return bool(reasons_for(self.grants(), permission, ""))

    def grants(self) -> list[Grant]:
        """The service account's tenant-wide role bindings (what SCIM needs — users, groups,
        bindings — belongs to the tenant, so a namespaced binding cannot grant it); read with
        the principal, which is cached only while no role or binding has changed (see
        PrincipalCache), so a role edited in the admin applies at once.

        The usual case — one binding — arrived with the token (see `grant_annotations`);
        several bindings are read here.
        """
        if self._grants is None:
            if getattr(self.token, "binding_count", None) == 1:
                rows = [(self.token.bound_role_id, self.token.bound_role_name,
                         self.token.bound_permissions)]  # fmt: skip
            else:
                rows = _bindings(self.service_account).values_list(
                    "role_id", "role__name", "role__permissions"
                )
            self._grants = [
                Grant(Source.DIRECT, role_id, name, permissions_of(permissions))
                for role_id, name, permissions in rows
            ]
        return self._grants


def _bindings(service_account) -> QuerySet[Binding]:
    return Binding.objects.filter(
        tenant_id=service_account.tenant_id, service_account=service_account, namespace=""
    )


@functools.cache
def grant_annotations() -> dict:
    """Sub-queries that bring the caller's role permissions with its token, in one query.

    Built once: Django copies expressions when it resolves them into a query.
    """
    bindings = Binding.objects.filter(
        service_account_id=OuterRef("service_account_id"),
        tenant_id=OuterRef("service_account__tenant_id"),
        namespace="",
    )
    return {
        "binding_count": Subquery(
            bindings.order_by()
            .values("service_account_id")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        **{
            name: Subquery(bindings.order_by("pk").values(column)[:1])
            for name, column in (
                ("bound_role_id", "role_id"),
                ("bound_role_name", "role__name"),
                ("bound_permissions", "role__permissions"),
            )
        },
    }


class PrincipalCache:
    """The principals this process has authenticated, by token, trusted while the authorisation
    generation they were read under stands (see `kestra_iam.models.AuthGeneration`).

    A hit costs one indexed read of the generation instead of the token query with its joins
    and grant sub-queries. Revoking or rotating a token, disabling an integration, editing a
    role or a service account's bindings bumps the generation in the same transaction, so the
    next request, in any process, reads the token again. Expiry is checked on every hit. Only
    tokens that authenticated are kept, by a digest of the whole value, at most `size` of them.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, tuple[int, SCIMPrincipal]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    @sensitive_variables("raw")
    def _key(raw: str) -> bytes:
        return hashlib.sha256(raw.encode()).digest()

    @sensitive_variables("raw")
    def get(self, raw: str, generation: int | None) -> SCIMPrincipal | None:
        """The principal of this token if it was read under `generation`."""
        latest = self.latest(raw)
        if generation is None or latest is None or latest[0] != generation:
            return None
        return latest[1]

    @sensitive_variables("raw")
    def latest(self, raw: str) -> tuple[int, SCIMPrincipal] | None:
        """The principal of this token and the generation it was read under, if any and not
        expired; trusting it is the caller's business (see
        `SCIMTokenAuthentication._cached_checked_by_first_query`)."""
        with self._lock:
            entry = self._entries.get(self._key(raw))
        if entry is None or entry[1].token.is_expired:
            return None
        return entry

    @sensitive_variables("raw")
    def put(self, raw: str, generation: int | None, principal: SCIMPrincipal) -> None:
        if generation is None:
            return
        with self._lock:
            self._entries[self._key(raw)] = (generation, principal)
            self._entries.move_to_end(self._key(raw))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


PRINCIPALS = PrincipalCache()
# Set on a request run again after its cached principal's generation changed: read it eagerly.
RECHECKED = "scim_principal_rechecked"
# The generation the request's principal was read or trusted under.
GENERATION = "scim_authorised_generation"


def generation_changed(exc: BaseException) -> bool:
    """Whether `exc` is a failed generation check: of a cached principal by the request's first
    statement, or of the request's write by its audit event (`kestra_iam.authorisation`)."""
    return isinstance(exc, AuthorisationChanged)


def request_generation(request) -> int | None:
    """The authorisation generation this request's principal was read or trusted under."""
    return getattr(request._request, GENERATION, None)


def confirm_principal() -> None:
    """Send the generation check if no query carried it (raises if the generation moved on).

    Called before a request answers; by then nothing else can be queued (a transaction's
    statements leave with it), so this sends the check or nothing.
    """
    piggyback.flush()


def _refused(reason: str) -> AuthenticationFailed:
    """The one 401 every failure gets; the reason goes to the metrics only."""
    AUTH_FAILURES.labels(reason).inc()
    return AuthenticationFailed()


class SCIMTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <Secret Token>` (scheme in any case).

    Every failure — no header, another scheme, a malformed, unknown, revoked or expired token, or
    a token of another integration than the one in the URL — raises the same error, which the
    exception handler answers with one uniform 401 body.
    """

    @sensitive_variables("header", "raw")
    def authenticate(self, request) -> tuple[SCIMPrincipal, SCIMPrincipal]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.strip().partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            raise _refused("no_bearer_token")
        principal = self._cached_checked_by_first_query(request, raw)
        if principal is None:
            principal = self._cached_checked_now_or_read(request, raw)
        else:
            touch(principal.token, "last_used_at")
        kwargs = request.parser_context["kwargs"]
        if kwargs.get("tenant_id") != principal.service_account.tenant_id or kwargs.get(
            "integration_id", ""
        ).lower() != str(principal.integration.pk):
            raise _refused("other_integration")
        touch(principal.integration, "last_request_at")
        return principal, principal

    @staticmethod
    @sensitive_variables("raw")
    def _cached_checked_by_first_query(request, raw: str) -> SCIMPrincipal | None:
        """The cached principal, its generation to be checked by the request's first query.

        On PostgreSQL, for a request that owns its transactions (none is open around it), the
        check of the generation travels with the first statement the request sends
        (`kestra_iam_expect_generation`, see `kestra_iam.db.triggers`) instead of costing a query of
        its own: if the generation moved on, that statement fails — and with it the transaction
        or the one-message write it belongs to — before anything is written or read for the
        caller, and the view runs the request again with the token read afresh
        (`SCIMView.handle_exception`). A request that sends no query has the check sent on its
        own before it answers (`confirm_principal`).
        """
        if (
            connection.vendor != "postgresql"
            or connection.in_atomic_block
            or getattr(request._request, RECHECKED, False)
        ):
            return None
        latest = PRINCIPALS.latest(raw)
        if latest is None:
            return None
        generation, principal = latest
        piggyback.send_with_next_query(f"SELECT kestra_iam_expect_generation({int(generation)})")
        setattr(request._request, GENERATION, generation)
        return principal

    @sensitive_variables("raw")
    def _cached_checked_now_or_read(self, request, raw: str) -> SCIMPrincipal:
        """The cached principal if the generation, read now, still stands; else the token read
        from the database (and cached under that generation)."""
        generation = AuthGeneration.current()  # before the token is read: see PrincipalCache
        setattr(request._request, GENERATION, generation)
        principal = PRINCIPALS.get(raw, generation)
        if principal is not None:
            touch(principal.token, "last_used_at")
            return principal
        principal = self._read_principal(raw)  # which records the token's use
        PRINCIPALS.put(raw, generation, principal)
        return principal

    @sensitive_variables("raw")
    def _read_principal(self, raw: str) -> SCIMPrincipal:
        token = api_token_authenticate(
            raw,
            related=("service_account__integration",),
            annotations=grant_annotations(),
            on_refused=record_token_refusal,
        )
        if token is None:
            raise _refused("unknown_token")  # unknown, revoked or expired
        account = token.service_account
        integration = getattr(account, "integration", None)
        if integration is None:
            raise _refused("not_an_integration")
        principal = SCIMPrincipal(token, account, integration)
        principal.grants()  # read now, under the generation the principal is cached with
        return principal

    def authenticate_header(self, request) -> str:
        return "Bearer"
