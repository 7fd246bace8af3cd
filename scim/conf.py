"""The SCIM service's limits and defaults: the one place they are written.

Like DRF's `api_settings`: the defaults are the fields below; `settings.SCIM` (filled from
`SCIM_*` environment variables by the project's settings, see the README) overrides any of them.
Everything in `scim` reads its limits through `scim_settings()`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.conf import settings

from scim.expressions import Limits


@dataclass(frozen=True)
class SCIMSettings:
    default_count: int = 100  # page size when the client sends no count
    max_results: int = 200  # largest page; larger counts are clamped (advertised)
    max_operations: int = 1000  # operations in one PATCH
    max_members: int = 10_000  # member ids changed by one PATCH
    max_filter_length: int = 4096
    max_filter_depth: int = 20
    max_filter_comparisons: int = 50
    max_body_bytes: int = 1024 * 1024
    stream_members_above: int = 1000  # a group read with more members is streamed
    rate_limit: tuple[int, int] = (1000, 10)  # requests per period (s) per integration; 0: off
    password_rate_limit: tuple[int, int] = (60, 60)  # requests that set a password, likewise
    max_values: int = 100  # values of one multi-valued user attribute (emails, …)
    list_max_members: int = 10_000  # members rendered in one page of a group list
    # Longest wait for a row lock in a SCIM write (PostgreSQL). Writes hold their locks for
    # milliseconds; a row held longer (a stuck transaction) must not take every worker.
    lock_timeout_ms: int = 500

    @property
    def filter_limits(self) -> Limits:
        """Bounds on filters and PATCH paths alike."""
        return Limits(
            max_length=self.max_filter_length,
            max_depth=self.max_filter_depth,
            max_comparisons=self.max_filter_comparisons,
        )


FIELDS = frozenset(f.name for f in fields(SCIMSettings))


def scim_settings() -> SCIMSettings:
    """The defaults, overridden by whatever `settings.SCIM` sets (read on every call, so the
    test suite's `settings` fixture and a reconfigured process take effect at once)."""
    configured = getattr(settings, "SCIM", {}) or {}
    return SCIMSettings(**{k: v for k, v in configured.items() if k in FIELDS})
