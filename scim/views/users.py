"""/Users: list, search, create, read, replace, patch, and remove from the tenant."""

from __future__ import annotations

from django.http import HttpResponseNotModified
from rest_framework.response import Response

from kestra_iam.permissions import Action
from scim import users as user_resource
from scim.conf import scim_settings
from scim.exceptions import NotFound
from scim.operations import parse_operations
from scim.resources import USERS
from scim.selectors import scim_user_get
from scim.services import (
    scim_user_create,
    scim_user_delete,
    scim_user_patch,
    scim_user_replace,
)
from scim.views.base import ListMixin, SCIMView, refuse_id_change, search_params


class UsersView(ListMixin, SCIMView):
    adapter = USERS

    def get(self, request, **kwargs):
        return self.resource_list(self.params())

    def post(self, request, **kwargs):
        document = user_resource.CLEANER.clean_resource(self.body())
        user = scim_user_create(
            tenant=self.tenant,
            integration=request.auth.integration,
            document=document,
            passwords=self.password_hasher(),
            audit=self.audit_entry(outcome=201),
        )
        projection = USERS.projection(self.params())
        # A linked user shows its stored profile, which may not be what the body said.
        USERS.load_for(user, projection)
        return self.resource_response(
            USERS.render(user, projection, base_url=self.base_url),
            status=201,
            version=user_resource.user_version(user.access),
        )


class UserSearchView(ListMixin, SCIMView):
    adapter = USERS
    is_search = True

    def post(self, request, **kwargs):
        return self.resource_list(search_params(self.body()))


class UserDetailView(SCIMView):
    adapter = USERS
    # A SCIM DELETE only removes the user's access to the tenant: an update, as far as the
    # tenant is concerned (Kestra's SCIMProvisioner role has no USERS:DELETE).
    delete_action = Action.UPDATE

    def get(self, request, user_id: str, **kwargs):
        user, projection = self.read(user_id)
        version = user_resource.user_version(user.access)
        if self.not_modified(version):
            return HttpResponseNotModified(headers={"ETag": version})
        return self.respond(user, projection)

    def read(self, user_id: str):
        projection = USERS.projection(self.params())
        user = scim_user_get(tenant=self.tenant, user_id=user_id, **USERS.details(projection))
        if user is None:
            raise NotFound()
        return user, projection

    def respond(self, user, projection) -> Response:
        return self.resource_response(
            USERS.render(user, projection, base_url=self.base_url),
            version=user_resource.user_version(user.access),
        )

    def put(self, request, user_id: str, **kwargs):
        body = self.body()
        refuse_id_change(body, user_id)
        document = user_resource.CLEANER.clean_resource(body)
        scim_user_replace(
            tenant=self.tenant,
            user_id=user_id,
            document=document,
            if_match=self.if_match(),
            passwords=self.password_hasher(),
            audit=self.audit_entry(),
        )
        return self.respond(*self.read(user_id))

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
            passwords=self.password_hasher(),
            audit=self.audit_entry(),
        )
        return self.respond(*self.read(user_id))

    def delete(self, request, user_id: str, **kwargs):
        scim_user_delete(
            tenant=self.tenant,
            user_id=user_id,
            if_match=self.if_match(),
            audit=self.audit_entry(outcome=204),
        )
        return Response(status=204)
