"""Request ids: every request carries one, logged and returned in `X-Request-ID`."""

from __future__ import annotations

import re
import uuid

_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIDMiddleware:
    """Reuse a well-formed incoming X-Request-ID (a proxy's), else make one."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
