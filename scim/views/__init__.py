"""SCIM 2.0 endpoints under `/api/v1/{tenant}/integrations/{id}/scim/v2`, one module per part
of the protocol; `scim.urls` routes to them."""

from scim.views.base import NotFoundView, NotImplementedView
from scim.views.discovery import ResourceTypesView, SchemasView, ServiceProviderConfigView
from scim.views.groups import GroupDetailView, GroupSearchView, GroupsView
from scim.views.search import RootSearchView
from scim.views.users import UserDetailView, UserSearchView, UsersView

__all__ = [
    "GroupDetailView",
    "GroupSearchView",
    "GroupsView",
    "NotFoundView",
    "NotImplementedView",
    "ResourceTypesView",
    "RootSearchView",
    "SchemasView",
    "ServiceProviderConfigView",
    "UserDetailView",
    "UserSearchView",
    "UsersView",
]
