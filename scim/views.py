"""SCIM 2.0 endpoints under `/api/v1/{tenant}/integrations/{id}/scim/v2`.

Views only translate: read the request, call one selector or service with the tenant of the
authenticated token, render the result. Tenant scoping lives in the selectors and services,
which receive `request.auth.tenant` and nothing else.
"""

from __future__ import annotations

from functools import cached_property

from django.http import HttpResponseNotModified, StreamingHttpResponse
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from kestra_iam.audit import AuditEntry
from kestra_iam.models import AuditEvent
from kestra_iam.permissions import Action, Resource
from provisioning.selectors import public_base_url, scim_base_path
from scim import groups as group_resource
from scim import users as user_resource
from scim.authentication import SCIMPrincipal, SCIMTokenAuthentication
from scim.conf import scim_settings
from scim.documents import Projection
from scim.exceptions import (
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NotFound,
    NotImplementedFeature,
    SCIMError,
    scim_exception_handler,
)
from scim.parsers import JSONParser, SCIMJSONParser
from scim.patch import parse_operations, password_values
from scim.permissions import HasSCIMProvisionerRole, IntegrationEnabled
from scim.renderers import SCIMContentNegotiation, SCIMRenderer
from scim.schema import (
    ENTERPRISE_SCHEMA,
    GROUP_RESOURCE,
    LIST_RESPONSE_URN,
    RESOURCE_TYPES,
    SCHEMAS,
    SEARCH_REQUEST_URN,
    SERVICE_PROVIDER_CONFIG_URN,
    USER_RESOURCE,
)
from scim.selectors import (
    ListQuery,
    Page,
    parse_list_query,
    scim_group_get,
    scim_group_list,
    scim_user_get,
    scim_user_list,
)
from scim.services import (
    hash_password,
    scim_group_create,
    scim_group_delete,
    scim_group_patch,
    scim_group_replace,
    scim_user_create,
    scim_user_delete,
    scim_user_patch,
    scim_user_replace,
)
from scim.throttling import IntegrationRateThrottle, check_password_rate

WRITE_VERBS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
QUERY_PARAMETERS = (
    "filter",
    "attributes",
    "excludedAttributes",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
)
MULTI_VALUED_USER_ATTRIBUTES = tuple(user_resource.MULTI_VALUED)


class SCIMView(APIView):
    """Authentication, authorisation, parsing, rendering and errors shared by every endpoint."""

    authentication_classes = [SCIMTokenAuthentication]
    permission_classes = [IntegrationEnabled, HasSCIMProvisionerRole]
    parser_classes = [SCIMJSONParser, JSONParser]
    renderer_classes = [SCIMRenderer]
    content_negotiation_class = SCIMContentNegotiation
    throttle_classes = [IntegrationRateThrottle]

    scim_resource: Resource | None = None  # what the role must grant; None for discovery
    delete_action = Action.DELETE
    is_search = False  # a POST that reads (/.search)
    principal: SCIMPrincipal | None = None  # set once the token is authenticated

    def get_exception_handler(self):
        return scim_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400:
            self.audit_refusal(request, response, kwargs)
        return response

    def perform_authentication(self, request) -> None:
        super().perform_authentication(request)
        self.principal = request.auth

    def audit_entry(self, *, outcome: int = 200) -> AuditEntry | None:
        """The audit event of this request's write, for the service to record in its
        transaction; None for requests that are not writes (reads, searches, discovery) and
        for requests that never authenticated."""
        request = self.request
        principal = self.principal
        verb = WRITE_VERBS.get(request.method)
        if principal is None or verb is None or self.scim_resource is None or self.is_search:
            return None
        return AuditEntry(
            action=f"scim.{self.scim_resource.value.lower()}.{verb}",
            actor_type=AuditEvent.ActorType.SERVICE_ACCOUNT,
            actor=principal.service_account.name,
            tenant_id=principal.service_account.tenant_id,
            integration_id=principal.integration.pk,
            resource_type=self.scim_resource.value,
            resource_id=self.kwargs.get("user_id") or self.kwargs.get("group_id") or "",
            request_id=getattr(request._request, "request_id", ""),
            outcome=outcome,
        )

    def audit_refusal(self, request, response, kwargs: dict) -> None:
        """A refused or failed write is recorded after the request: it changed nothing.

        Successful writes are recorded by their service, in the write's own transaction.
        """
        entry = self.audit_entry()
        if entry is None:
            return
        data = getattr(response, "data", None)
        detail = data.get("detail", "") if isinstance(data, dict) else ""
        entry.record_refusal(outcome=response.status_code, detail=detail)

    def required_permission(self, request) -> tuple[Resource, Action] | None:
        if self.scim_resource is None or not hasattr(self, request.method.lower()):
            return None  # discovery, or a method this endpoint does not have (405 follows)
        action = {
            "GET": Action.READ,
            "HEAD": Action.READ,
            "POST": Action.CREATE,
            "PUT": Action.UPDATE,
            "PATCH": Action.UPDATE,
            "DELETE": self.delete_action,
        }.get(request.method)
        if self.is_search:
            action = Action.READ
        return (self.scim_resource, action) if action else None

    # -- helpers --

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
        wanted = {name.lower(): name for name in QUERY_PARAMETERS}
        result = {}
        for key, value in self.request.query_params.items():
            name = wanted.get(key.lower())
            if name is not None:
                result[name] = value
        return result

    def body(self) -> object:
        # DRF reads no body when Content-Length is 0 or absent and hands back an empty dict.
        length = self.request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) == 0:
            raise InvalidSyntax("The request needs a JSON body.")
        return self.request.data

    def password_hashes(self, passwords) -> dict[str, str]:
        """Hash the passwords a write carries before any row is locked, within the
        integration's password budget (hashing is slow on purpose)."""
        wanted = [p for p in passwords if isinstance(p, str)]
        if not wanted:
            return {}
        check_password_rate(self.principal)
        return {password: hash_password(password) for password in wanted}

    def if_match(self) -> str | None:
        return self.request.headers.get("If-Match")

    def not_modified(self, version: str) -> bool:
        tags = self.request.headers.get("If-None-Match")
        if not tags:
            return False
        candidates = {t.strip().removeprefix("W/") for t in tags.split(",")}
        return "*" in candidates or version.removeprefix("W/") in candidates

    def list_response(self, page, resources: list) -> Response | StreamingHttpResponse:
        """A ListResponse; streamed when a resource is itself a stream (a large group)."""
        envelope = {
            "schemas": [LIST_RESPONSE_URN],
            "totalResults": page.total,
            "startIndex": page.start_index,
            "itemsPerPage": len(resources),
        }
        if all(isinstance(resource, dict) for resource in resources):
            return Response({**envelope, "Resources": resources})
        return StreamingHttpResponse(
            group_resource.stream_list(envelope, resources), content_type=SCIMRenderer.media_type
        )

    def resource_response(
        self, resource: dict, *, status: int = 200, version: str | None = None
    ) -> Response:
        """A single resource, with its ETag even when the projection left `meta` out."""
        version = version or resource.get("meta", {}).get("version")
        headers = {"ETag": version} if version else {}
        if status == 201:
            endpoint = "Users" if self.scim_resource == Resource.USERS else "Groups"
            headers["Location"] = f"{self.base_url}/{endpoint}/{resource['id']}"
        return Response(resource, status=status, headers=headers)


def _search_params(body: object) -> dict:
    """A SearchRequest body (RFC 7644 §3.4.3) as list parameters."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The body must be a SearchRequest object.")
    schemas = body.get("schemas")
    if schemas is not None and SEARCH_REQUEST_URN not in (
        schemas if isinstance(schemas, list) else []
    ):
        raise InvalidSyntax(f"schemas must contain {SEARCH_REQUEST_URN}.")
    params = {}
    lowered = {k.lower(): v for k, v in body.items() if isinstance(k, str)}
    for name in QUERY_PARAMETERS:
        value = lowered.get(name.lower())
        if value is None:
            continue
        if name in ("attributes", "excludedAttributes"):
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = ",".join(value)
            elif not isinstance(value, str):
                raise InvalidValue(f"{name} must be an array of attribute names.")
        params[name] = value
    return params


# --- Users --------------------------------------------------------------------------------------


class UserRenderMixin:
    def user_projection(self, params: dict | None = None) -> Projection:
        params = self.params() if params is None else params
        return Projection.from_params(
            USER_RESOURCE, params.get("attributes"), params.get("excludedAttributes")
        )

    def user_list(self, params: dict) -> Response:
        settings = scim_settings()
        query = parse_list_query(params, settings)
        projection = self.user_projection(params)
        page = scim_user_list(
            tenant=self.tenant, query=query, settings=settings, **user_details(projection)
        )
        resources = [
            projection.apply(user_resource.render_user(access, base_url=self.base_url))
            for access in page.items
        ]
        return self.list_response(page, resources)

    def render_user_by_id(self, user_id: str) -> dict:
        projection = self.user_projection()
        access = scim_user_get(tenant=self.tenant, user_id=user_id, **user_details(projection))
        return projection.apply(user_resource.render_user(access, base_url=self.base_url))


def _wants(projection: Projection, name: str) -> bool:
    attribute = projection.resource.schema.attribute(name)
    return projection.wants("", attribute.name, attribute)


def user_details(projection: Projection) -> dict:
    """What to load besides the user rows, from what the response will carry."""
    manager = ENTERPRISE_SCHEMA.attribute("manager")
    return {
        "values": any(_wants(projection, name) for name in MULTI_VALUED_USER_ATTRIBUTES),
        "groups": _wants(projection, "groups"),
        "managers": projection.wants(ENTERPRISE_SCHEMA.id, "manager", manager),
    }


class UsersView(UserRenderMixin, SCIMView):
    scim_resource = Resource.USERS

    def get(self, request, **kwargs):
        return self.user_list(self.params())

    def post(self, request, **kwargs):
        document = user_resource.CLEANER.clean_resource(self.body())
        access = scim_user_create(
            tenant=self.tenant,
            integration=request.auth.integration,
            document=document,
            password_hashes=self.password_hashes([document.get("password")]),
            audit=self.audit_entry(outcome=201),
        )
        projection = self.user_projection()
        details = user_details(projection)
        # A linked user shows its stored profile, which may not be what the body said.
        user_resource.load_details(
            [access], values=details["values"], groups=False, managers=details["managers"]
        )
        resource = projection.apply(user_resource.render_user(access, base_url=self.base_url))
        return self.resource_response(
            resource, status=201, version=user_resource.user_version(access)
        )


class UserSearchView(UserRenderMixin, SCIMView):
    scim_resource = Resource.USERS
    is_search = True

    def post(self, request, **kwargs):
        return self.user_list(_search_params(self.body()))


class UserDetailView(UserRenderMixin, SCIMView):
    scim_resource = Resource.USERS
    # A SCIM DELETE only removes the user's access to the tenant: an update, as far as the
    # tenant is concerned (Kestra's SCIMProvisioner role has no USERS:DELETE).
    delete_action = Action.UPDATE

    def get(self, request, user_id: str, **kwargs):
        projection = self.user_projection()
        access = scim_user_get(tenant=self.tenant, user_id=user_id, **user_details(projection))
        if access is None:
            raise NotFound()
        version = user_resource.user_version(access)
        if self.not_modified(version):
            return HttpResponseNotModified(headers={"ETag": version})
        return self.resource_response(
            projection.apply(user_resource.render_user(access, base_url=self.base_url)),
            version=version,
        )

    def put(self, request, user_id: str, **kwargs):
        body = self.body()
        _refuse_id_change(body, user_id)
        document = user_resource.CLEANER.clean_resource(body)
        scim_user_replace(
            tenant=self.tenant,
            user_id=user_id,
            document=document,
            if_match=self.if_match(),
            password_hashes=self.password_hashes([document.get("password")]),
            audit=self.audit_entry(),
        )
        return self.resource_response(self.render_user_by_id(user_id))

    def patch(self, request, user_id: str, **kwargs):
        settings = scim_settings()
        operations = parse_operations(
            self.body(), max_operations=settings.max_operations, limits=settings.filter_limits
        )
        scim_user_patch(
            tenant=self.tenant,
            user_id=user_id,
            operations=operations,
            if_match=self.if_match(),
            password_hashes=self.password_hashes(password_values(operations)),
            audit=self.audit_entry(),
        )
        return self.resource_response(self.render_user_by_id(user_id))

    def delete(self, request, user_id: str, **kwargs):
        scim_user_delete(
            tenant=self.tenant,
            user_id=user_id,
            if_match=self.if_match(),
            audit=self.audit_entry(outcome=204),
        )
        return Response(status=204)


def _refuse_id_change(body: object, resource_id: str) -> None:
    if isinstance(body, dict):
        sent = next((v for k, v in body.items() if isinstance(k, str) and k.lower() == "id"), None)
        if sent is not None and str(sent).lower() != resource_id.lower():
            raise Mutability("id is read-only and cannot be changed.")


# --- Groups -------------------------------------------------------------------------------------


class GroupRenderMixin:
    def render_groups(
        self, groups: list, projection: Projection, *, stream_above: int | None = None
    ) -> list:
        """The groups as SCIM documents, members read in one query.

        With `stream_above` (list pages, whose groups carry `member_count`), a group with more
        members than that is given as an iterator of JSON bytes instead, written out as its
        members are read.
        """
        with_members = _wants(projection, "members")
        streamed = {
            group.pk
            for group in groups
            if with_members and stream_above is not None and group.member_count > stream_above
        }
        members: dict | None = None
        if with_members:
            members = {group.pk: [] for group in groups if group.pk not in streamed}
            for group_id, user_id, display, user_name in (
                group_resource.member_rows(members) if members else ()
            ):
                members[group_id].append(
                    group_resource.render_member(
                        user_id, display, user_name, base_url=self.base_url
                    )
                )
        return [
            group_resource.stream_group(group, base_url=self.base_url, project=projection.apply)
            if group.pk in streamed
            else projection.apply(
                group_resource.render_group(
                    group,
                    base_url=self.base_url,
                    members=members[group.pk] if members is not None else None,
                )
            )
            for group in groups
        ]

    def group_page(self, query: ListQuery, settings, projection: Projection) -> Page:
        """A page of groups, rendered; bounded in members when the response lists them."""
        page = scim_group_list(
            tenant=self.tenant,
            query=query,
            settings=settings,
            members=_wants(projection, "members"),
        )
        rendered = self.render_groups(
            page.items, projection, stream_above=settings.stream_members_above
        )
        return Page(total=page.total, start_index=page.start_index, items=rendered)

    def group_list(self, params: dict) -> Response:
        settings = scim_settings()
        query = parse_list_query(params, settings)
        projection = Projection.from_params(
            GROUP_RESOURCE, params.get("attributes"), params.get("excludedAttributes")
        )
        page = self.group_page(query, settings, projection)
        return self.list_response(page, page.items)

    def group_projection(self) -> Projection:
        params = self.params()
        return Projection.from_params(
            GROUP_RESOURCE, params.get("attributes"), params.get("excludedAttributes")
        )

    def render_one(self, group) -> dict:
        return self.render_groups([group], self.group_projection())[0]


class GroupsView(GroupRenderMixin, SCIMView):
    scim_resource = Resource.GROUPS

    def get(self, request, **kwargs):
        return self.group_list(self.params())

    def post(self, request, **kwargs):
        document = group_resource.CLEANER.clean_resource(self.body())
        group = scim_group_create(
            tenant=self.tenant, document=document, audit=self.audit_entry(outcome=201)
        )
        return self.resource_response(
            self.render_one(group), status=201, version=group_resource.group_version(group)
        )


class GroupSearchView(GroupRenderMixin, SCIMView):
    scim_resource = Resource.GROUPS
    is_search = True

    def post(self, request, **kwargs):
        return self.group_list(_search_params(self.body()))


class GroupDetailView(GroupRenderMixin, SCIMView):
    scim_resource = Resource.GROUPS

    def get(self, request, group_id: str, **kwargs):
        group = scim_group_get(tenant=self.tenant, group_id=group_id)
        if group is None:
            raise NotFound()
        version = group_resource.group_version(group)
        if self.not_modified(version):
            return HttpResponseNotModified(headers={"ETag": version})
        projection = self.group_projection()
        if _wants(projection, "members") and group_resource.has_more_members_than(
            group, scim_settings().stream_members_above
        ):
            # Tens of thousands of members: written out as they are read, in bounded memory.
            return StreamingHttpResponse(
                group_resource.stream_group(
                    group, base_url=self.base_url, project=projection.apply
                ),
                content_type=SCIMRenderer.media_type,
                headers={"ETag": version},
            )
        return self.resource_response(self.render_groups([group], projection)[0], version=version)

    def put(self, request, group_id: str, **kwargs):
        body = self.body()
        _refuse_id_change(body, group_id)
        document = group_resource.CLEANER.clean_resource(body)
        group = scim_group_replace(
            tenant=self.tenant,
            group_id=group_id,
            document=document,
            if_match=self.if_match(),
            audit=self.audit_entry(),
        )
        return self.resource_response(self.render_one(group))

    def patch(self, request, group_id: str, **kwargs):
        settings = scim_settings()
        operations = parse_operations(
            self.body(), max_operations=settings.max_operations, limits=settings.filter_limits
        )
        params = self.params()
        # Entra ID expects 204 and a group's member list can be huge: no body unless asked.
        with_body = "attributes" in params or "excludedAttributes" in params
        group = scim_group_patch(
            tenant=self.tenant,
            group_id=group_id,
            operations=operations,
            if_match=self.if_match(),
            audit=self.audit_entry(outcome=200 if with_body else 204),
        )
        if with_body:
            return self.resource_response(self.render_one(group))
        return Response(status=204, headers={"ETag": group_resource.group_version(group)})

    def delete(self, request, group_id: str, **kwargs):
        scim_group_delete(
            tenant=self.tenant,
            group_id=group_id,
            if_match=self.if_match(),
            audit=self.audit_entry(outcome=204),
        )
        return Response(status=204)


# --- Root search --------------------------------------------------------------------------------


class RootSearchView(UserRenderMixin, GroupRenderMixin, SCIMView):
    """POST /.search: users then groups, one page across both, for the types the caller reads."""

    is_search = True

    def post(self, request, **kwargs):
        params = _search_params(self.body())
        settings = scim_settings()
        query = parse_list_query(params, settings)
        grants = request.auth.grants()
        sources = []
        if Action.READ.value in grants.get(Resource.USERS.value, set()):
            sources.append("users")
        if Action.READ.value in grants.get(Resource.GROUPS.value, set()):
            sources.append("groups")
        if not sources:
            raise PermissionDenied("The integration may read neither users nor groups.")
        totals, errors = {}, []
        for source in sources:
            try:
                counter = ListQuery(filter=query.filter, start_index=1, count=0)
                totals[source] = self._page(source, counter, settings, params).total
            except SCIMError as exc:
                errors.append(exc)
        if not totals:
            raise errors[0]
        resources: list[dict] = []
        offset = query.start_index - 1
        remaining = query.count
        for source, total in totals.items():
            if remaining <= 0:
                break
            if offset >= total:
                offset -= total
                continue
            sub = ListQuery(
                filter=query.filter,
                sort_by=query.sort_by,
                sort_order=query.sort_order,
                start_index=offset + 1,
                count=remaining,
            )
            resources.extend(self._page(source, sub, settings, params, render=True).items)
            remaining = query.count - len(resources)
            offset = 0
        return self.list_response(
            Page(total=sum(totals.values()), start_index=query.start_index, items=resources),
            resources,
        )

    def _page(self, source, query, settings, params, render: bool = False):
        if source == "users":
            projection = Projection.from_params(
                USER_RESOURCE, params.get("attributes"), params.get("excludedAttributes")
            )
            details = user_details(projection) if render else {"values": False, "groups": False}
            page = scim_user_list(tenant=self.tenant, query=query, settings=settings, **details)
            if render:
                page.items[:] = [
                    projection.apply(user_resource.render_user(a, base_url=self.base_url))
                    for a in page.items
                ]
            return page
        projection = Projection.from_params(
            GROUP_RESOURCE, params.get("attributes"), params.get("excludedAttributes")
        )
        if render:
            return self.group_page(query, settings, projection)
        return scim_group_list(tenant=self.tenant, query=query, settings=settings)


# --- Discovery ----------------------------------------------------------------------------------


class ServiceProviderConfigView(SCIMView):
    def get(self, request, **kwargs):
        settings = scim_settings()
        return Response(
            {
                "schemas": [SERVICE_PROVIDER_CONFIG_URN],
                "documentationUri": "https://kestra.io/docs/enterprise/auth/scim",
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": True, "maxResults": settings.max_results},
                "changePassword": {"supported": True},
                "sort": {"supported": True},
                "etag": {"supported": True},
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "Bearer token",
                        "description": "The integration's Secret Token, sent as "
                        "'Authorization: Bearer <token>'.",
                        "primary": True,
                    }
                ],
                "meta": {
                    "resourceType": "ServiceProviderConfig",
                    "location": f"{self.base_url}/ServiceProviderConfig",
                },
            }
        )


class ResourceTypesView(SCIMView):
    def get(self, request, resource_type_id: str | None = None, **kwargs):
        items = [
            r.to_scim(location=f"{self.base_url}/ResourceTypes/{r.id}") for r in RESOURCE_TYPES
        ]
        if resource_type_id is None:
            return self.discovery_list(items)
        for item in items:
            if item["id"] == resource_type_id:
                return Response(item)
        raise NotFound(f"Resource type {resource_type_id} not found.")

    def discovery_list(self, items: list[dict]) -> Response:
        return Response(
            {
                "schemas": [LIST_RESPONSE_URN],
                "totalResults": len(items),
                "startIndex": 1,
                "itemsPerPage": len(items),
                "Resources": items,
            }
        )


class SchemasView(ResourceTypesView):
    def get(self, request, schema_id: str | None = None, **kwargs):
        items = [s.to_scim(location=f"{self.base_url}/Schemas/{s.id}") for s in SCHEMAS]
        if schema_id is None:
            return self.discovery_list(items)
        for item in items:
            if item["id"] == schema_id:
                return Response(item)
        raise NotFound(f"Schema {schema_id} not found.")


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
