"""`/healthz`, `/readyz` and `/metrics`, answered before any other middleware.

Probes come from load balancers and orchestrators that use an IP address as Host, plain HTTP,
and no session: answering first keeps them clear of ALLOWED_HOSTS, the HTTPS redirect, sessions,
the audit trail and the rate limit, and makes each probe cost next to nothing.
"""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpResponse

from observability import health, metrics

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"


def _json(status: int, body: dict) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


class OperationsEndpointsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        # On the main port only in "token" mode; "listen" serves them on their own address.
        self.metrics_token = settings.METRICS_TOKEN if settings.METRICS == "token" else None

    def __call__(self, request):
        path = request.path_info
        if path == HEALTH_PATH:
            return _json(200, {"status": "alive"})
        if path == READY_PATH:
            return _json(*health.readiness())
        if path == METRICS_PATH and self.metrics_token:
            return self.metrics(request)
        return self.get_response(request)

    def metrics(self, request) -> HttpResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.metrics_token.encode()
        ):
            response = _json(401, {"detail": "A bearer token is required."})
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        body, content_type = metrics.exposition()
        response = HttpResponse(body, content_type=content_type)
        response["Cache-Control"] = "no-store"
        return response
