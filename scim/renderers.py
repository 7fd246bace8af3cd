"""Responses are always `application/scim+json`, whatever the client asked for.

Entra ID's Test Connection sends no Accept header and some clients send `*/*` or XML: answering
406 would break them, and RFC 7644 only has JSON to offer, so negotiation never fails.
"""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer


class SCIMRenderer(JSONRenderer):
    media_type = "application/scim+json"
    format = "scim"
    charset = None  # JSON is UTF-8 by definition (RFC 8259)


class SCIMContentNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        content_type = (request.content_type or "").split(";", 1)[0].strip().lower()
        if not content_type:
            return parsers[0]  # a body without Content-Type is read as SCIM JSON
        for parser in parsers:
            if parser.media_type == content_type:
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
