"""Routes of the decision API, under `api/v1/<tenant_id>/access/`."""

from django.urls import path

from access import views

app_name = "access"

urlpatterns = [
    path("checks", views.ChecksView.as_view(), name="checks"),
    path("permissions", views.PermissionsView.as_view(), name="permissions"),
    path("namespaces", views.NamespacesView.as_view(), name="namespaces"),
]
