"""Per-integration rate limits through Django's cache (Redis in production).

Fixed window counters: one atomic `incr` per counted request in the shared cache, so every app
server counts against the same budget. Over a limit, the request gets 429 with Retry-After.
If the cache is unreachable the request is let through: losing the limit for a moment is
better than stopping provisioning.

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

from scim.conf import scim_settings
from scim.exceptions import TooManyRequests

logger = logging.getLogger(__name__)

CACHE_ALIAS = "default"
PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def _over_limit(key: str, limit: int, period: int) -> float | None:
    """Count one request in the current window; seconds until the window ends if over `limit`."""
    if limit <= 0:
        return None
    now = time.time()
    window_key = f"{key}:{int(now // period)}"
    cache = caches[CACHE_ALIAS]
    try:
        count = 1 if cache.add(window_key, 1, timeout=period + 1) else cache.incr(window_key)
    except ValueError:  # the window's key expired between add and incr
        count = 1
    except Exception:
        logger.warning("Rate-limit cache unavailable; request allowed", exc_info=True)
        return None
    if count > limit:
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
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


def check_password_rate(principal) -> None:
    """Count a request that sets a password; raise 429 past `SCIM_PASSWORD_RATE_LIMIT`."""
    limit, period = scim_settings().password_rate_limit
    wait = _over_limit(f"scim:password-rate:{principal.integration.pk}", limit, period)
    if wait is not None:
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
