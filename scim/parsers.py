"""Request bodies: `application/scim+json` (with or without charset) and `application/json`."""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from scim.exceptions import PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024


class SCIMJSONParser(BaseParser):
    """Strict JSON with guards: a size bound checked before parsing, a UTF-8 BOM tolerated,
    NaN/Infinity and absurd nesting refused as a 400 rather than crashing the request."""

    media_type = "application/scim+json"
    max_body_bytes = MAX_BODY_BYTES

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge(f"The body is larger than {self.max_body_bytes} bytes.")
        data = stream.read(self.max_body_bytes + 1)
        if len(data) > self.max_body_bytes:
            raise PayloadTooLarge(f"The body is larger than {self.max_body_bytes} bytes.")
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
