"""Per-integration rate limiting through Django's cache (Redis in production).

A fixed window counter: one atomic `incr` per request in the shared cache, so every app
server counts against the same budget. Over the limit, the request gets 429 with Retry-After.
If the cache is unreachable the request is let through: losing the limit for a moment is
better than stopping provisioning.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import caches
from rest_framework.throttling import BaseThrottle

from scim.conf import scim_settings

logger = logging.getLogger(__name__)


class IntegrationRateThrottle(BaseThrottle):
    cache_alias = "default"

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request, view) -> bool:
        principal = request.auth
        limit, period = scim_settings().rate_limit
        if principal is None or limit <= 0:
            return True
        now = time.time()
        window = int(now // period)
        key = f"scim:rate:{principal.integration.pk}:{window}"
        cache = caches[self.cache_alias]
        try:
            count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
        except ValueError:  # the window's key expired between add and incr
            count = 1
        except Exception:
            logger.warning("Rate-limit cache unavailable; request allowed", exc_info=True)
            return True
        if count > limit:
            self.retry_after = period - (now % period)
            return False
        return True

    def wait(self) -> float | None:
        return self.retry_after
