from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from access.schema import OpenAPIDocument
from scim import views as scim_views

SCIM_BASE = r"api/v1/(?P<tenant_id>[^/]+)/integrations/(?P<integration_id>[^/]+)/scim/v2"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # Sign-in with the OpenID provider (OIDC_* settings), matched to provisioned people
    path("signin/", include("signin.urls")),
    # Browsers ask for it whatever the page declares; resolved per request, as the static
    # files' manifest may not exist when this module is imported.
    path("favicon.ico", lambda request: HttpResponseRedirect(static("kestra_iam/favicon.svg"))),
    # Access decisions for the platform (a service account token of the tenant)
    path("api/v1/<str:tenant_id>/access/", include("access.urls")),
    path("api/v1/openapi.json", OpenAPIDocument.as_view(), name="openapi"),
    # SCIM 2.0, one service per provisioning integration (see provisioning.selectors.scim_base_path)
    re_path(rf"^{SCIM_BASE}/+", include("scim.urls")),
    re_path(rf"^{SCIM_BASE}$", scim_views.NotFoundView.as_view()),
]
