from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from scim import views as scim_views

SCIM_BASE = r"api/v1/(?P<tenant_id>[^/]+)/integrations/(?P<integration_id>[^/]+)/scim/v2"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # SCIM 2.0, one service per provisioning integration (see provisioning.selectors.scim_base_path)
    re_path(rf"^{SCIM_BASE}/+", include("scim.urls")),
    re_path(rf"^{SCIM_BASE}$", scim_views.NotFoundView.as_view()),
]
