"""Per-integration rate limits through Django's cache (Redis in production).

Fixed window counters: one atomic `incr` per counted request in the shared cache, so every app
server counts against the same budget. Over a limit, the request gets 429 with Retry-After.
If the cache is unreachable or hangs, the request is let through within the cache's socket
timeout (CACHE_TIMEOUT_MS): losing the limit for a moment is better than stopping provisioning.

Two budgets: every request (`SCIM_RATE_LIMIT`), and requests that set a password
(`SCIM_PASSWORD_RATE_LIMIT`), because hashing a password is deliberately slow — hundreds of
milliseconds of CPU — and a client sending one with every request would otherwise take the
workers from everyone else.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import BaseThrottle

from observability.metrics import CACHE_BYPASSED, CACHE_FAILURES, RATE_LIMITED
from observability.outages import OutageLog
from scim.conf import scim_settings
from scim.exceptions import TooManyRequests

logger = logging.getLogger(__name__)

CACHE_ALIAS = "default"
PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


class SharedCounters:
    """Counters in the shared cache that never hold a request up.

    After a failed call the cache is left alone for `pause` seconds, during which requests go
    through uncounted without trying it: a frozen Redis costs one timeout per worker per pause,
    not one per request. The outage is logged once when it starts, at most once per
    `log_every` seconds while it lasts, and once when it ends — never a traceback per request.
    """

    def __init__(self, *, pause: float = 5.0, log_every: float = 60.0) -> None:
        self.pause = pause
        self.retry_at = 0.0  # time.monotonic() before which the cache is not tried
        self.outage = OutageLog(
            logger,
            started="Rate-limit cache unavailable (%s); requests are let through uncounted, and "
            f"the cache is tried again every {pause:.0f} s.",
            lasting="Rate-limit cache still unavailable after %.0f s (%s).",
            ended="Rate-limit cache answers again after %.0f s; rate limits are enforced.",
            log_every=log_every,
        )

    def increment(self, key: str, *, ttl: int) -> int | None:
        """The key's new count, or None when the cache is unavailable."""
        now = time.monotonic()
        if now < self.retry_at:
            CACHE_BYPASSED.inc()
            return None
        cache = caches[CACHE_ALIAS]
        try:
            count = 1 if cache.add(key, 1, timeout=ttl) else cache.incr(key)
        except ValueError:  # the key expired between add and incr
            count = 1
        except Exception as exc:
            CACHE_FAILURES.inc()
            CACHE_BYPASSED.inc()
            self.retry_at = now + self.pause
            self.outage.failed(exc)
            return None
        self.outage.answered()
        return count


COUNTERS = SharedCounters()


def _over_limit(key: str, limit: int, period: int) -> float | None:
    """Count one request in the current window; seconds until the window ends if over `limit`."""
    if limit <= 0:
        return None
    now = time.time()
    count = COUNTERS.increment(f"{key}:{int(now // period)}", ttl=period + 1)
    if count is not None and count > limit:
        return period - (now % period)
    return None


class IntegrationRateThrottle(BaseThrottle):
    """Every request of an integration counts against `SCIM_RATE_LIMIT`."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request, view) -> bool:
        principal = request.auth
        if principal is None:
            return True
        limit, period = scim_settings().rate_limit
        self.retry_after = _over_limit(f"scim:rate:{principal.integration.pk}", limit, period)
        if self.retry_after is not None:
            RATE_LIMITED.labels(str(principal.integration.pk), "requests").inc()
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


def check_password_rate(principal) -> None:
    """Count a request that sets a password; raise 429 past `SCIM_PASSWORD_RATE_LIMIT`."""
    limit, period = scim_settings().password_rate_limit
    wait = _over_limit(f"scim:password-rate:{principal.integration.pk}", limit, period)
    if wait is not None:
        RATE_LIMITED.labels(str(principal.integration.pk), "passwords").inc()
        seconds = max(int(wait), 1)
        raise TooManyRequests(
            f"Too many password changes for this integration (at most {limit} per {period} s); "
            f"retry in {seconds} s.",
            retry_after=seconds,
        )


def process_local_counter_problem(*, workers: int) -> str | None:
    """Why `workers` processes cannot enforce the rate limit together, or None if they can.

    A process-local cache gives every worker its own counter, so a client would get the limit
    once per worker.
    """
    limit, _ = scim_settings().rate_limit
    backend = settings.CACHES[CACHE_ALIAS]["BACKEND"]
    if workers <= 1 or limit <= 0 or backend not in PROCESS_LOCAL_CACHES:
        return None
    return (
        f"SCIM_RATE_LIMIT would be counted separately by each of the {workers} workers "
        "(CACHE_URL is local to each process), giving clients several times the limit. Set "
        "CACHE_URL=redis://host:6379/0 so that all workers share one counter, run one worker "
        "(GUNICORN_WORKERS=1), or turn the limit off (SCIM_RATE_LIMIT=0)."
    )
