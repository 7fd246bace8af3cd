"""/Groups: list, search, create, read (streamed when large), replace, patch, delete."""

from __future__ import annotations

from django.http import HttpResponseNotModified, StreamingHttpResponse
from rest_framework.response import Response

from scim import groups as group_resource
from scim.conf import scim_settings
from scim.exceptions import NotFound
from scim.operations import parse_operations
from scim.renderers import SCIMRenderer
from scim.resources import GROUPS
from scim.selectors import scim_group_get, scim_group_has_more_members_than
from scim.services import scim_group_create, scim_group_delete, scim_group_patch, scim_group_replace
from scim.views.base import ListMixin, SCIMView, refuse_id_change, search_params


class GroupRenderMixin:
    def render_one(self, group) -> dict:
        return GROUPS.render([group], GROUPS.projection(self.params()), base_url=self.base_url)[0]


class GroupsView(ListMixin, GroupRenderMixin, SCIMView):
    adapter = GROUPS

    def get(self, request, **kwargs):
        return self.resource_list(self.params())

    def post(self, request, **kwargs):
        document = group_resource.CLEANER.clean_resource(self.body())
        group = scim_group_create(
            tenant=self.tenant,
            integration=request.auth.integration,
            document=document,
            audit=self.audit_entry(outcome=201),
        )
        return self.resource_response(
            self.render_one(group), status=201, version=group_resource.group_version(group)
        )


class GroupSearchView(ListMixin, SCIMView):
    adapter = GROUPS
    is_search = True

    def post(self, request, **kwargs):
        return self.resource_list(search_params(self.body()))


class GroupDetailView(GroupRenderMixin, SCIMView):
    adapter = GROUPS

    def get(self, request, group_id: str, **kwargs):
        group = scim_group_get(tenant=self.tenant, group_id=group_id)
        if group is None:
            raise NotFound()
        version = group_resource.group_version(group)
        if self.not_modified(version):
            return HttpResponseNotModified(headers={"ETag": version})
        projection = GROUPS.projection(self.params())
        if projection.wants_attribute("members") and scim_group_has_more_members_than(
            group, scim_settings().stream_members_above
        ):
            # Tens of thousands of members: written out as they are read, in bounded memory.
            return StreamingHttpResponse(
                GROUPS.stream(group, projection, base_url=self.base_url),
                content_type=SCIMRenderer.media_type,
                headers={"ETag": version},
            )
        return self.resource_response(self.render_one(group), version=version)

    def put(self, request, group_id: str, **kwargs):
        body = self.body()
        refuse_id_change(body, group_id)
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
