"""What each API request did: one metrics sample and, with LOG_FORMAT=json, one log line.

Views opt in by naming their route with `observe(request, route=…)`; the SCIM views do, from
their URL pattern (`Users/{user_id}`), so a log line never carries a path segment that a client
typed (which could be a user name) nor the query string (whose filters carry user names and
e-mail addresses). Tenant and integration are set only once the caller is authenticated.

A streamed response is observed when its last chunk is sent: if reading the rest fails (the
database went away mid-stream), the client already has a 200 status line and a cut-off body,
and the request is logged and counted as the 500 it is.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connection

from observability import metrics

logger = logging.getLogger("kestra_iam.requests")

# Anything else a client sends as a method is counted as "other": a label never takes an
# arbitrary value from the request.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@dataclass
class Observation:
    started: float
    route: str | None = None  # set by views that opt in; None: not observed
    resource: str = ""
    tenant: str | None = None
    integration: str | None = None
    queries: int = 0
    error: str | None = None


def observe(request, **fields) -> None:
    """Record facts about the request being served (route, resource, tenant, integration)."""
    observation = getattr(request, "observation", None)
    if observation is not None:
        for name, value in fields.items():
            setattr(observation, name, value)


class RequestObservationMiddleware:
    """Times every request, counts its queries (JSON logs only), and reports the observed ones.

    Not installed at all (MiddlewareNotUsed) when neither metrics nor JSON logs are on.
    """

    def __init__(self, get_response) -> None:
        self.metrics = settings.METRICS != "off"
        self.json_log = settings.LOG_FORMAT == "json"
        if not (self.metrics or self.json_log):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        observation = request.observation = Observation(started=time.perf_counter())
        metrics.REQUESTS_IN_FLIGHT.inc()
        try:
            with self.counting(observation):
                response = self.get_response(request)
        except BaseException:
            metrics.REQUESTS_IN_FLIGHT.dec()
            raise
        if response.streaming:
            response.streaming_content = WatchedStream(
                response.streaming_content, self, request, response.status_code
            )
        else:
            self.finish(request, response.status_code)
        return response

    def counting(self, observation: Observation):
        if not self.json_log:
            return nullcontext()

        def count(execute, sql, params, many, context):
            observation.queries += 1
            return execute(sql, params, many, context)

        return connection.execute_wrapper(count)

    def finish(self, request, status: int) -> None:
        metrics.REQUESTS_IN_FLIGHT.dec()
        observation: Observation = request.observation
        if observation.route is None:
            return
        seconds = time.perf_counter() - observation.started
        method = request.method if request.method in KNOWN_METHODS else "other"
        if self.metrics:
            metrics.SCIM_REQUESTS.labels(
                observation.integration or "", method, observation.resource, str(status)
            ).inc()
            metrics.SCIM_REQUEST_SECONDS.labels(method, observation.resource).observe(seconds)
        if self.json_log:
            fields = {
                "request_id": getattr(request, "request_id", None),
                "tenant": observation.tenant,
                "integration": observation.integration,
                "method": method,
                "route": observation.route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "queries": observation.queries,
            }
            if observation.error:
                fields["error"] = observation.error
            logger.info("SCIM request", extra={"fields": fields})


class WatchedStream:
    """A streamed body that reports its request once the body is done: sent, failed, or closed
    early by the server (the client went away)."""

    def __init__(self, chunks, middleware: RequestObservationMiddleware, request, status: int):
        self.chunks = iter(chunks)
        self.middleware = middleware
        self.request = request
        self.status = status
        self.finished = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        try:
            with self.middleware.counting(self.request.observation):
                return next(self.chunks)
        except StopIteration:
            self.end()
            raise
        except Exception as exc:
            self.status = 500
            self.request.observation.error = f"stream aborted: {type(exc).__name__}"
            logger.error(
                "A streamed response failed after its status line was sent: %s",
                type(exc).__name__,
            )
            self.end()
            raise

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        self.end()

    def end(self) -> None:
        if not self.finished:
            self.finished = True
            self.middleware.finish(self.request, self.status)
