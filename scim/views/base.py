"""What every SCIM endpoint shares: authentication, authorisation, parsing, rendering, errors,
and the audit of refused writes.

Views only translate: read the request, call one selector, adapter or service with the tenant
of the authenticated token, render the result. Tenant scoping lives in the selectors and
services, which receive `request.auth.tenant` and nothing else.
"""

from __future__ import annotations

from functools import cached_property

from django.http import StreamingHttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView

from kestra_iam.audit import AuditEntry
from kestra_iam.authorisation import refusals_as_authorisation_changed
from kestra_iam.models import AuditEvent
from kestra_iam.permissions import Action, Resource
from observability.requests import observe
from provisioning.selectors import public_base_url, scim_base_path
from scim.authentication import (
    RECHECKED,
    SCIMPrincipal,
    SCIMTokenAuthentication,
    confirm_principal,
    generation_changed,
    request_generation,
)
from scim.conditional import not_modified
from scim.conf import scim_settings
from scim.documents import get_key
from scim.exceptions import (
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NotFound,
    NotImplementedFeature,
    scim_exception_handler,
)
from scim.listing import list_body, list_envelope, stream_list
from scim.parsers import JSONParser, SCIMJSONParser
from scim.permissions import HasSCIMProvisionerRole, IntegrationEnabled
from scim.renderers import SCIMContentNegotiation, SCIMRenderer
from scim.resources import ResourceAdapter
from scim.schema import SEARCH_REQUEST_URN
from scim.selectors import Page, parse_list_query
from scim.services import PasswordHasher
from scim.throttling import IntegrationRateThrottle, check_password_rate

# Route names of the requests no endpoint serves (see scim.urls).
NOT_IMPLEMENTED = "(not implemented)"
UNMATCHED = "(unmatched)"
# Set on a request whose throttles have counted it, so that running it again does not.
THROTTLED = "scim_throttles_counted"

WRITE_VERBS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
READ_ACTIONS = {"GET": Action.READ, "HEAD": Action.READ}
WRITE_ACTIONS = {"POST": Action.CREATE, "PUT": Action.UPDATE, "PATCH": Action.UPDATE}
QUERY_PARAMETERS = (
    "filter",
    "attributes",
    "excludedAttributes",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
)


class SCIMView(APIView):
    """Authentication, authorisation, parsing, rendering and errors shared by every endpoint."""

    authentication_classes = [SCIMTokenAuthentication]
    permission_classes = [IntegrationEnabled, HasSCIMProvisionerRole]
    parser_classes = [SCIMJSONParser, JSONParser]
    renderer_classes = [SCIMRenderer]
    content_negotiation_class = SCIMContentNegotiation
    throttle_classes = [IntegrationRateThrottle]

    adapter: ResourceAdapter | None = None  # the resource type served; None for discovery
    delete_action = Action.DELETE
    is_search = False  # a POST that reads (/.search)
    principal: SCIMPrincipal | None = None  # set once the token is authenticated

    def get_exception_handler(self):
        return scim_exception_handler

    def dispatch(self, request, *args, **kwargs):
        with refusals_as_authorisation_changed():
            return super().dispatch(request, *args, **kwargs)

    def handle_exception(self, exc):
        if generation_changed(exc) and not getattr(self.request._request, RECHECKED, False):
            return self._again_with_the_token_read_afresh()
        return super().handle_exception(exc)

    def _again_with_the_token_read_afresh(self):
        """The generation the principal was authorised under changed — found by the request's
        first statement (see `SCIMTokenAuthentication`) or by its write's audit event
        (`kestra_iam.authorisation`) — and nothing was written: authenticate and authorise
        again from the database and run the handler once more."""
        request = self.request
        setattr(request._request, RECHECKED, True)
        for name in ("_user", "_auth", "_authenticator"):
            request.__dict__.pop(name, None)
        self.principal = None
        try:
            # The whole of DRF's request path, as the first attempt: authentication,
            # permissions and the throttles (which count a request once, however many tries).
            self.initial(request, *self.args, **self.kwargs)
            handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            return handler(request, *self.args, **self.kwargs)
        except Exception as exc:
            return super().handle_exception(exc)

    def check_throttles(self, request) -> None:
        """Once per request: the run again after a changed generation is the same request."""
        if getattr(request._request, THROTTLED, False):
            return
        super().check_throttles(request)
        setattr(request._request, THROTTLED, True)

    def initial(self, request, *args, **kwargs) -> None:
        # Logs and metrics show the route's template, never the path the client typed.
        match = request.resolver_match
        route = (match.url_name if match else None) or UNMATCHED
        observe(request, route=route, resource=route.partition("/")[0])
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request) -> None:
        super().perform_authentication(request)
        self.principal = request.auth
        observe(
            request, tenant=self.principal.tenant.pk, integration=str(self.principal.integration.pk)
        )

    def required_permission(self, request) -> tuple[Resource, Action] | None:
        if self.adapter is None or not hasattr(self, request.method.lower()):
            return None  # discovery, or a method this endpoint does not have (405 follows)
        if self.is_search:
            return self.adapter.permission, Action.READ
        action = {**READ_ACTIONS, **WRITE_ACTIONS, "DELETE": self.delete_action}.get(request.method)
        return (self.adapter.permission, action) if action else None

    # -- the audit of writes --

    def finalize_response(self, request, response, *args, **kwargs):
        try:
            confirm_principal()
        except Exception as exc:
            response = self.handle_exception(exc)
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400:
            self.audit_refusal(response)
        return response

    def audit_entry(self, *, outcome: int = 200) -> AuditEntry | None:
        """The audit event of this request's write, for the service to record in its
        transaction; None for requests that are not writes (reads, searches, discovery) and
        for requests that never authenticated."""
        verb = WRITE_VERBS.get(self.request.method)
        principal = self.principal
        if principal is None or verb is None or self.adapter is None or self.is_search:
            return None
        resource = self.adapter.permission.value
        return AuditEntry(
            action=f"scim.{resource.lower()}.{verb}",
            actor_type=AuditEvent.ActorType.SERVICE_ACCOUNT,
            actor=principal.service_account.name,
            tenant_id=principal.service_account.tenant_id,
            integration_id=principal.integration.pk,
            resource_type=resource,
            resource_id=self.kwargs.get("user_id") or self.kwargs.get("group_id") or "",
            request_id=getattr(self.request._request, "request_id", ""),
            outcome=outcome,
            authorised_generation=request_generation(self.request),
        )

    def audit_refusal(self, response) -> None:
        """A refused or failed write is recorded after the request: it changed nothing.

        Successful writes are recorded by their service, in the write's own transaction.
        """
        entry = self.audit_entry()
        if entry is not None:
            data = getattr(response, "data", None)
            detail = data.get("detail", "") if isinstance(data, dict) else ""
            entry.record_refusal(outcome=response.status_code, detail=detail)

    # -- reading the request --

    @property
    def tenant(self):
        return self.request.auth.tenant

    @cached_property
    def base_url(self) -> str:
        """Computed once per request (a view instance serves one request): a list page renders
        every resource's location from it."""
        integration = self.request.auth.integration
        return public_base_url(self.request) + scim_base_path(
            tenant_id=integration.tenant_id, integration_id=integration.pk
        )

    def params(self) -> dict:
        """The query parameters SCIM defines, whatever case the client wrote them in."""
        return {
            name: get_key(self.request.query_params, name)
            for name in QUERY_PARAMETERS
            if get_key(self.request.query_params, name) is not None
        }

    def body(self) -> object:
        # DRF reads no body when Content-Length is 0 or absent and hands back an empty dict.
        length = self.request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) == 0:
            raise InvalidSyntax("The request needs a JSON body.")
        return self.request.data

    def if_match(self) -> str | None:
        return self.request.headers.get("If-Match")

    def not_modified(self, version: str) -> bool:
        return not_modified(version, self.request.headers.get("If-None-Match"))

    def password_hasher(self) -> PasswordHasher:
        """The one password hash this request may cost, charged to the integration's password
        budget when it is made (hashing is slow on purpose)."""
        principal = self.principal
        return PasswordHasher(charge=lambda: check_password_rate(principal))

    # -- responses --

    def list_response(self, page: Page) -> Response | StreamingHttpResponse:
        """A ListResponse; streamed when a resource is itself a stream (a large group)."""
        if all(isinstance(item, dict) for item in page.items):
            return Response(list_body(page.items, total=page.total, start_index=page.start_index))
        envelope = list_envelope(
            total=page.total, start_index=page.start_index, count=len(page.items)
        )
        return StreamingHttpResponse(
            stream_list(envelope, page.items), content_type=SCIMRenderer.media_type
        )

    def resource_response(
        self, resource: dict, *, status: int = 200, version: str | None = None
    ) -> Response:
        """A single resource, with its ETag even when the projection left `meta` out."""
        version = version or resource.get("meta", {}).get("version")
        headers = {"ETag": version} if version else {}
        if status == 201:
            headers["Location"] = f"{self.base_url}{self.adapter.type.endpoint}/{resource['id']}"
        return Response(resource, status=status, headers=headers)


class ListMixin:
    """GET /{Resources} and POST /{Resources}/.search, through the view's resource adapter."""

    def resource_list(self, params: dict) -> Response | StreamingHttpResponse:
        settings = scim_settings()
        page = self.adapter.page(
            tenant=self.tenant,
            query=parse_list_query(params, settings),
            settings=settings,
            projection=self.adapter.projection(params),
            base_url=self.base_url,
        )
        return self.list_response(page)


def search_params(body: object) -> dict:
    """A SearchRequest body (RFC 7644 §3.4.3) as list parameters."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The body must be a SearchRequest object.")
    schemas = body.get("schemas")
    if schemas is not None and SEARCH_REQUEST_URN not in (
        schemas if isinstance(schemas, list) else []
    ):
        raise InvalidSyntax(f"schemas must contain {SEARCH_REQUEST_URN}.")
    params = {}
    for name in QUERY_PARAMETERS:
        value = get_key(body, name)
        if value is None:
            continue
        if name in ("attributes", "excludedAttributes"):
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = ",".join(value)
            elif not isinstance(value, str):
                raise InvalidValue(f"{name} must be an array of attribute names.")
        params[name] = value
    return params


def refuse_id_change(body: object, resource_id: str) -> None:
    """PUT bodies may repeat the resource's id, never another one."""
    sent = get_key(body, "id") if isinstance(body, dict) else None
    if sent is not None and str(sent).lower() != resource_id.lower():
        raise Mutability("id is read-only and cannot be changed.")


class NotImplementedView(SCIMView):
    """/Bulk and /Me: advertised as unsupported, answered 501 for every method."""

    def dispatch_not_implemented(self, request, **kwargs):
        raise NotImplementedFeature(
            f"{request.path.rsplit('/', 1)[-1]} is not supported by this service."
        )

    get = post = put = patch = delete = dispatch_not_implemented


class NotFoundView(SCIMView):
    """Anything else under the base URL: a SCIM 404, for every method."""

    def not_found(self, request, **kwargs):
        raise NotFound("There is no SCIM endpoint at this path.")

    get = post = put = patch = delete = not_found
