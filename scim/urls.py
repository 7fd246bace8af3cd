"""Routes under each integration's base URL.

The project's URLconf consumes the base URL and any run of slashes after it, so a Tenant URL
configured with a trailing slash (`…/scim/v2//Users`) works; a trailing slash after the resource
is accepted too. Anything else under the base URL is a SCIM 404.
"""

from django.urls import re_path

from scim import views

# Any one path segment: ids are checked by the views, so a malformed id is the same 404 as an
# unknown one.
SEGMENT = r"(?P<{}>[^/]+)"

urlpatterns = [
    re_path(r"^Users/?$", views.UsersView.as_view()),
    re_path(r"^Users/\.search/?$", views.UserSearchView.as_view()),
    re_path(r"^Users/" + SEGMENT.format("user_id") + r"/?$", views.UserDetailView.as_view()),
    re_path(r"^Groups/?$", views.GroupsView.as_view()),
    re_path(r"^Groups/\.search/?$", views.GroupSearchView.as_view()),
    re_path(r"^Groups/" + SEGMENT.format("group_id") + r"/?$", views.GroupDetailView.as_view()),
    re_path(r"^\.search/?$", views.RootSearchView.as_view()),
    re_path(r"^ServiceProviderConfig/?$", views.ServiceProviderConfigView.as_view()),
    re_path(r"^ResourceTypes/?$", views.ResourceTypesView.as_view()),
    re_path(
        r"^ResourceTypes/" + SEGMENT.format("item_id") + r"/?$", views.ResourceTypesView.as_view()
    ),
    re_path(r"^Schemas/?$", views.SchemasView.as_view()),
    re_path(r"^Schemas/" + SEGMENT.format("item_id") + r"/?$", views.SchemasView.as_view()),
    re_path(r"^(?:Bulk|Me)(?:/.*)?$", views.NotImplementedView.as_view()),
    re_path(r"^.*$", views.NotFoundView.as_view()),
]
