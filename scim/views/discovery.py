"""Discovery: /ServiceProviderConfig, /ResourceTypes and /Schemas (RFC 7644 §4).

Generated from the same attribute definitions and limits the service uses, so what it
advertises is what it does.
"""

from __future__ import annotations

from rest_framework.response import Response

from scim.conf import scim_settings
from scim.exceptions import NotFound
from scim.listing import list_body
from scim.quirks import advertised_attributes
from scim.schema import RESOURCE_TYPES, SCHEMAS, SERVICE_PROVIDER_CONFIG_URN
from scim.views.base import SCIMView


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


class DiscoveryListView(SCIMView):
    """A list of discovery documents, or one of them by id."""

    kind = ""  # the path segment: ResourceTypes or Schemas

    def documents(self) -> list[dict]:
        raise NotImplementedError

    def get(self, request, item_id: str | None = None, **kwargs):
        items = self.documents()
        if item_id is None:
            return Response(list_body(items))
        for item in items:
            if item["id"] == item_id:
                return Response(item)
        raise NotFound(f"{self.kind} {item_id} not found.")


class ResourceTypesView(DiscoveryListView):
    kind = "Resource type"

    def documents(self) -> list[dict]:
        return [r.to_scim(location=f"{self.base_url}/ResourceTypes/{r.id}") for r in RESOURCE_TYPES]


class SchemasView(DiscoveryListView):
    kind = "Schema"

    def documents(self) -> list[dict]:
        return [
            s.to_scim(
                location=f"{self.base_url}/Schemas/{s.id}", attributes=advertised_attributes(s)
            )
            for s in SCHEMAS
        ]
