"""Every metric the service exports, in the Prometheus format, through prometheus_client.

Under gunicorn each worker is its own process: `kestra_iam/gunicorn_conf.py` points
PROMETHEUS_MULTIPROC_DIR at a directory before any worker starts, prometheus_client then keeps
every value in a memory-mapped file there, and `/metrics` adds the files of all workers up
(`registry()`). Outside gunicorn (runserver, tests) values live in this process.

Label values are bounded: `integration` is set only for authenticated requests (an unknown id
in a URL never becomes a series), `resource` and `route` come from the URL patterns, `status`
from the response.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

SCIM_REQUESTS = Counter(
    "kestra_iam_scim_requests",
    "SCIM requests answered, by integration (empty when the token was refused), method, "
    "resource and status. A response that fails while it is being streamed counts as 500.",
    ["integration", "method", "resource", "status"],
)
SCIM_REQUEST_SECONDS = Histogram(
    "kestra_iam_scim_request_duration_seconds",
    "Time to answer a SCIM request, until its last byte for a streamed response.",
    ["method", "resource"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
REQUESTS_IN_FLIGHT = Gauge(
    "kestra_iam_http_requests_in_flight",
    "HTTP requests being served right now, across all workers.",
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "kestra_iam_scim_rate_limited",
    "SCIM requests refused with 429, by integration and budget (requests or passwords).",
    ["integration", "budget"],
)
AUTH_FAILURES = Counter(
    "kestra_iam_scim_auth_failures",
    "SCIM requests refused with 401, by reason: no bearer token, a token that is unknown, "
    "revoked or expired, a token that is not an integration's, or another integration's token.",
    ["reason"],
)
DATABASE_ERRORS = Counter(
    "kestra_iam_database_errors",
    "Database errors that reached a SCIM response, by kind (lock_timeout, statement_timeout, "
    "deadlock, serialization, connection, integrity, data, other).",
    ["kind"],
)
DATABASE_RETRIES = Counter(
    "kestra_iam_database_retries",
    "Write transactions run a second time after a deadlock or a serialization failure.",
    ["kind"],
)
CACHE_FAILURES = Counter(
    "kestra_iam_cache_failures",
    "Calls to the shared cache (the rate-limit counters) that failed or timed out.",
)
CACHE_BYPASSED = Counter(
    "kestra_iam_cache_bypassed",
    "Requests let through without a rate-limit count while the shared cache was unavailable.",
)


def multiprocess_directory() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def registry() -> CollectorRegistry:
    """The registry to expose: every worker's values when several processes record them."""
    if multiprocess_directory() is None:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def exposition() -> tuple[bytes, str]:
    """The current values in the Prometheus text format, and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST
