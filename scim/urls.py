"""Routes under each integration's base URL.

The project's URLconf consumes the base URL and any run of slashes after it, so a Tenant URL
configured with a trailing slash (`…/scim/v2//Users`) works; a trailing slash after the resource
is accepted too. Anything else under the base URL is a SCIM 404.

Each route is named by its template (`Users/{user_id}`), which is what logs and metrics show
instead of the path a client sent.
"""

import re

from django.urls import re_path

from scim import views
from scim.views.base import NOT_IMPLEMENTED, UNMATCHED

app_name = "scim"


def route(template: str, view):
    """A route for `template`, whose `{name}` parts each match one path segment (ids are
    checked by the views, so a malformed id is the same 404 as an unknown one)."""
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re_path(rf"^{regex}/?$", view, name=template)


urlpatterns = [
    route("Users", views.UsersView.as_view()),
    route("Users/.search", views.UserSearchView.as_view()),
    route("Users/{user_id}", views.UserDetailView.as_view()),
    route("Groups", views.GroupsView.as_view()),
    route("Groups/.search", views.GroupSearchView.as_view()),
    route("Groups/{group_id}", views.GroupDetailView.as_view()),
    route(".search", views.RootSearchView.as_view()),
    route("ServiceProviderConfig", views.ServiceProviderConfigView.as_view()),
    route("ResourceTypes", views.ResourceTypesView.as_view()),
    route("ResourceTypes/{item_id}", views.ResourceTypesView.as_view()),
    route("Schemas", views.SchemasView.as_view()),
    route("Schemas/{item_id}", views.SchemasView.as_view()),
    re_path(r"^(?:Bulk|Me)(?:/.*)?$", views.NotImplementedView.as_view(), name=NOT_IMPLEMENTED),
    re_path(r"^.*$", views.NotFoundView.as_view(), name=UNMATCHED),
]
