"""Request bodies: `application/scim+json` (with or without charset) and `application/json`."""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from scim.conf import scim_settings
from scim.exceptions import PayloadTooLarge


class SCIMJSONParser(BaseParser):
    """Strict JSON with guards: a size bound checked before parsing, a UTF-8 BOM tolerated,
    NaN/Infinity and absurd nesting refused as a 400 rather than crashing the request."""

    media_type = "application/scim+json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = scim_settings().max_body_bytes
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ParseError("the body is not UTF-8") from None
        if not text.strip():
            raise ParseError("the body is empty")
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError("the JSON is nested too deeply") from None
        except ValueError as exc:
            raise ParseError(str(exc)) from None


class JSONParser(SCIMJSONParser):
    media_type = "application/json"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")
