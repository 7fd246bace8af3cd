"""Checks of how the service is deployed that settings alone cannot make."""

from __future__ import annotations

from django.conf import settings

PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def rate_limit_problem(*, workers: int) -> str | None:
    """Why `workers` processes cannot enforce the SCIM rate limit, or None if they can.

    The limit is counted in Django's cache; a process-local cache gives every worker its own
    counter, so a client would get the limit once per worker.
    """
    limit, _ = settings.SCIM["rate_limit"]
    backend = settings.CACHES["default"]["BACKEND"]
    if workers <= 1 or limit <= 0 or backend not in PROCESS_LOCAL_CACHES:
        return None
    return (
        f"SCIM_RATE_LIMIT would be counted separately by each of the {workers} workers "
        "(CACHE_URL is local to each process), giving clients several times the limit. Set "
        "CACHE_URL=redis://host:6379/0 so that all workers share one counter, run one worker "
        "(GUNICORN_WORKERS=1), or turn the limit off (SCIM_RATE_LIMIT=0)."
    )
