"""The OpenAPI document of the decision API (drf-spectacular), served at /api/v1/openapi.json.

Only the access routes are described: the SCIM endpoints are specified by RFC 7644 and
describe themselves (`/ServiceProviderConfig`, `/Schemas`, `/ResourceTypes`).
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularJSONAPIView


def only_the_access_api(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: keep the routes under /api/v1/{tenant}/access/."""
    return [endpoint for endpoint in endpoints if "/access/" in endpoint[0]]


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "access.authentication.ServiceAccountTokenAuthentication"
    name = "serviceAccountToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token of a service account of the tenant in the path, whose "
            "roles grant BINDINGS:READ tenant-wide.",
        }


class OpenAPIDocument(SpectacularJSONAPIView):
    """The document itself is public: it describes the API, not anyone's access."""

    authentication_classes: list = []
    permission_classes: list = []
