"""Activity charts as inline SVG, rendered on the server: no JavaScript, no chart library.

Bars are stacked by outcome and coloured by CSS classes (`provisioning.css` gives them colours
for the light and the dark theme); each bar carries its numbers in a `<title>` (the browser's
tooltip) and in data attributes; the chart's `<desc>` is the sentence a screen reader reads.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from provisioning.activity import OUTCOMES, Bucket, summary

# Drawn bottom to top.
LAYERS = tuple(OUTCOMES)


def _n(number: float) -> str:
    """A coordinate, short: format_html would escape a float before formatting it."""
    return f"{number:.2f}".rstrip("0").rstrip(".")


def _bar(bucket: Bucket, x: float, width: float, height: int, scale: float, label: str):
    parts, y = [], float(height)
    for layer in LAYERS:
        value = getattr(bucket, layer)
        if value:
            size = max(value * scale, 1.0)
            y -= size
            parts.append(
                format_html(
                    '<rect class="bar {}" x="{}" y="{}" width="{}" height="{}"/>',
                    layer,
                    _n(x),
                    _n(y),
                    _n(width),
                    _n(size),
                )
            )
    return format_html(
        '<g class="bucket" data-start="{}" data-succeeded="{}" data-refused="{}" data-failed="{}">'
        "<title>{}: {} succeeded, {} refused, {} failed</title>"
        '<rect class="hit" x="{}" y="0" width="{}" height="{}"/>{}</g>',
        bucket.start.isoformat(),
        bucket.succeeded,
        bucket.refused,
        bucket.failed,
        label,
        bucket.succeeded,
        bucket.refused,
        bucket.failed,
        _n(x),
        _n(width),
        height,
        SafeString("".join(parts)),
    )


def activity_svg(
    buckets: list[Bucket],
    *,
    unit: str,
    width: int,
    height: int,
    css_class: str = "",
    span: str | None = None,
) -> SafeString:
    """A stacked bar per bucket; `unit` ("hour" or "day") names the buckets in the texts,
    `span` the whole ("7 days")."""
    peak = max((b.total for b in buckets), default=0)
    scale = (height - 2) / peak if peak else 0.0
    step = width / max(len(buckets), 1)
    gap = 1.0 if step > 3 else 0.0
    label_format = "%Y-%m-%d %H:00 UTC" if unit == "hour" else "%Y-%m-%d"
    bars = format_html_join(
        "",
        "{}",
        (
            (_bar(b, n * step, step - gap, height, scale, b.start.strftime(label_format)),)
            for n, b in enumerate(buckets)
        ),
    )
    text = summary(buckets, unit=unit, span=span)
    return format_html(
        '<svg class="activity-chart {}" role="img" viewBox="0 0 {} {}" width="{}" height="{}" '
        'preserveAspectRatio="none" data-peak="{}"><title>Writes per {}</title><desc>{}</desc>'
        '<line class="baseline" x1="0" y1="{}" x2="{}" y2="{}"/>{}</svg>',
        css_class,
        width,
        height,
        width,
        height,
        peak,
        unit,
        text,
        height - 0.5,
        width,
        height - 0.5,
        bars,
    )


def axis(buckets: list[Bucket], *, unit: str) -> list[tuple[str, str]]:
    """Time labels under a chart: (left edge in % of its width, label) — every 6 hours over a
    day, each midnight over a week of hours, every 5 days over a month of days."""
    if not buckets:
        return []
    step = 100 / len(buckets)
    ticks = []
    for n, bucket in enumerate(buckets):
        start = bucket.start
        if unit == "hour" and len(buckets) <= 24:
            label = f"{start:%H:00}" if start.hour % 6 == 0 else None
        elif unit == "hour":
            label = f"{start:%m-%d}" if start.hour == 0 else None
        else:
            label = f"{start:%m-%d}" if n % 5 == 0 else None
        if label and n * step <= 94:  # a label at the right edge would be cut off
            ticks.append((_n(n * step), label))
    return ticks
