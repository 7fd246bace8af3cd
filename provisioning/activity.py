"""What an integration did lately, read from the audit trail: its SCIM writes per hour (or per
day), split into succeeded (< 400), refused (4xx) and failed (5xx). Admin and command changes
to the integration are in the trail too, but are not its traffic.

One aggregate query, bounded by the `(integration_id, occurred_at)` index however large the
trail is; the hours with nothing in them are filled in here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import caches
from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils.timezone import now

from kestra_iam.models import AuditEvent

CACHE_ALIAS = "default"
CACHE_PREFIX = "kestra-iam:activity"
SETTLE = timedelta(minutes=1)

OUTCOMES = {
    "succeeded": Q(outcome__lt=400),
    "refused": Q(outcome__gte=400, outcome__lt=500),
    "failed": Q(outcome__gte=500),
}


@dataclass(frozen=True)
class Bucket:
    start: datetime
    succeeded: int = 0
    refused: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.refused + self.failed


def _window(step: timedelta, count: int, until: datetime | None) -> list[datetime]:
    """The starts of the last `count` steps, the current (unfinished) one last."""
    until = until or now()
    current = until.replace(minute=0, second=0, microsecond=0)
    if step == timedelta(days=1):
        current = current.replace(hour=0)
    return [current - step * n for n in range(count - 1, -1, -1)]


def activity_queryset(integration_ids: Iterable, start: datetime, end: datetime, step: timedelta):
    """The one aggregate: counts by integration, bucket and outcome, from `start` to `end`."""
    trunc = TruncDay if step == timedelta(days=1) else TruncHour
    return (
        AuditEvent.objects.filter(
            integration_id__in=list(integration_ids),
            occurred_at__gte=start,
            occurred_at__lt=end,
            actor_type=AuditEvent.ActorType.SERVICE_ACCOUNT,  # its SCIM writes, not admin changes
        )
        .annotate(bucket=trunc("occurred_at"))
        .values("integration_id", "bucket")
        .annotate(**{name: Count("id", filter=condition) for name, condition in OUTCOMES.items()})
        .order_by()
    )


def _read(integration_ids: Iterable, start: datetime, end: datetime, step: timedelta) -> dict:
    rows = activity_queryset(integration_ids, start, end, step)
    return {(row["integration_id"], row["bucket"]): row for row in rows}


def _counts(integration_ids: list, starts: list[datetime], step: timedelta) -> dict:
    """{(integration id, bucket start): counts} over the window.

    The buckets before the current one are complete and do not change (but for pruning), so
    they are cached until the window moves on: a busy integration's page then reads the trail
    only for the current bucket (measured in `benchmarks.console`: a million writes in the
    week cost 0.36 s to count, the current hour a few ms). A cache that fails (or none) only
    makes the read slower.
    """
    current = starts[-1]
    keys = {
        pk: f"{CACHE_PREFIX}:{int(step.total_seconds())}:{pk}:{current:%Y%m%d%H}"
        for pk in integration_ids
    }
    counts = {}
    cached = _cache_call(lambda cache: cache.get_many(list(keys.values()))) or {}
    for completed in cached.values():
        counts.update(completed)
    missing = [pk for pk, key in keys.items() if key not in cached]
    if missing:
        completed = _read(missing, starts[0], current, step)
        counts.update(completed)
        by_integration = {keys[pk]: {} for pk in missing}
        for (pk, bucket), row in completed.items():
            by_integration[keys[pk]][(pk, bucket)] = row
        # A write that began before the hour turned may commit just after it: the previous
        # bucket is cached only once such stragglers are in.
        if now() - current >= SETTLE:
            timeout = int(step.total_seconds())
            _cache_call(lambda cache: cache.set_many(by_integration, timeout=timeout))
    counts.update(_read(integration_ids, current, current + step, step))
    return counts


def _cache_call(call):
    """The cache's answer, or None when it fails: the counts are then read from the trail."""
    try:
        return call(caches[CACHE_ALIAS])
    except Exception:  # whatever the backend raises means "not cached", never an error page
        return None


def _series(integration_id, counts: dict, starts: list[datetime]) -> list[Bucket]:
    buckets = []
    for start in starts:
        row = counts.get((integration_id, start))
        buckets.append(
            Bucket(start, **{name: row[name] for name in OUTCOMES}) if row else Bucket(start)
        )
    return buckets


def hourly_window(hours: int = 168, until=None) -> list[datetime]:
    return _window(timedelta(hours=1), hours, until)


def integration_activity(integration_id, *, hours: int = 168, until=None) -> list[Bucket]:
    """The last `hours` hours of one integration, hour by hour."""
    starts = hourly_window(hours, until)
    return _series(integration_id, _counts([integration_id], starts, timedelta(hours=1)), starts)


def integrations_activity_by_day(integration_ids, *, days: int = 7, until=None) -> dict:
    """{integration id: the last `days` days, day by day}, for a whole list page at once."""
    ids = list(integration_ids)
    starts = _window(timedelta(days=1), days, until)
    counts = _counts(ids, starts, timedelta(days=1)) if ids else {}
    return {integration_id: _series(integration_id, counts, starts) for integration_id in ids}


HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """A choice of the integration page's chart: how far back, in buckets of what."""

    key: str  # the page's `?activity=`
    label: str
    step: timedelta
    count: int

    @property
    def unit(self) -> str:
        return "hour" if self.step == HOUR else "day"


PERIODS = {
    period.key: period
    for period in (
        Period("24h", "24 hours", HOUR, 24),
        Period("7d", "7 days", HOUR, 168),
        Period("30d", "30 days", DAY, 30),
    )
}
DEFAULT_PERIOD = PERIODS["7d"]


def period_activity(
    integration_id, period: Period, *, hourly: list[Bucket] | None = None
) -> list[Bucket]:
    """One integration's buckets over `period`; `hourly`, the last 168 hours if already read,
    serves the hourly periods without another query."""
    if period.step == HOUR:
        if hourly is None or len(hourly) < period.count:
            hourly = integration_activity(integration_id, hours=period.count)
        return hourly[-period.count :]
    return integrations_activity_by_day([integration_id], days=period.count)[integration_id]


def summary(buckets: list[Bucket], *, unit: str, span: str | None = None) -> str:
    """One sentence with the totals and the busiest bucket, for screen readers and the page;
    `span` says how far back ("7 days"; by default the number of buckets)."""
    span = span or f"{len(buckets)} {unit}s"
    totals = {name: sum(getattr(b, name) for b in buckets) for name in OUTCOMES}
    total = sum(totals.values())
    if not total:
        return f"No writes in the last {span}."
    busiest = max(buckets, key=lambda b: b.total)
    when = f"{busiest.start:%Y-%m-%d %H:00}" if unit == "hour" else f"{busiest.start:%Y-%m-%d}"
    return (
        f"{total:,} write{'s' if total != 1 else ''} in the last {span}: "
        f"{totals['succeeded']:,} succeeded, {totals['refused']:,} refused, "
        f"{totals['failed']:,} failed. Busiest {unit}: {when} UTC ({busiest.total:,})."
    )
