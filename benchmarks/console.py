"""The integration console on a large audit trail: 1,000,000 events, then the console's reads,
the trail's first admin page, its export and its pruning.

Two shapes of the same million rows: spread over 10 integrations and 30 days (the measured
integration has about 23,000 writes in its last 7 days), and then all of them in the measured
integration's last 7 days (1.6 writes a second, day and night: a busy directory). Each read is
timed in-process (median of 5, after one warm-up), on a first view (completed hours not cached
yet) and on the views after it (only the current hour read); the plan of the full read is
printed. On the spread shape, the trail is then exported whole as JSON Lines and CSV (what
`manage.py audit export` writes, to a null sink) and its older half pruned (what `audit prune`
runs, in its batches), each timed once: they are operations, not requests.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import timedelta

ROWS = 1_000_000
RUNS = 5

INSERT = """
INSERT INTO kestra_iam_auditevent (occurred_at, tenant_id, integration_id, actor_type, actor,
    action, resource_type, resource_id, outcome, request_id, detail, subject, kind, changes)
SELECT now() - (random() * %(days)s) * interval '1 day', 'console',
    CASE WHEN n %% %(spread)s = 0 THEN %(integration)s::uuid
        ELSE md5((n %% %(spread)s)::text)::uuid END,
    'service_account', 'scim-console', 'scim.users.create', 'USERS', md5(n::text),
    CASE WHEN n %% 50 = 0 THEN 409 WHEN n %% 997 = 0 THEN 500 ELSE 201 END, md5(n::text), '',
    'user' || n || '@example.com', CASE WHEN n %% 50 = 0 THEN 'refused' ELSE 'created' END,
    CASE WHEN n %% 3 = 0 THEN '{"attributes": {"title": ["", "Engineer"]}}'::jsonb
        ELSE '{}'::jsonb END
FROM generate_series(1, %(rows)s) AS n
"""


def _median_ms(read, *, cold: bool) -> float:
    """Median of RUNS reads; `cold` empties the cache of completed buckets before each."""
    from django.core.cache import caches

    read()
    samples = []
    for _ in range(RUNS):
        if cold:
            caches["default"].clear()
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def _plan(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _fill(integration_id: uuid.UUID, *, days: int, spread: int) -> None:
    from django.core.cache import caches
    from django.db import connection, transaction

    # Seeding a million rows is no request: the settings' statement timeout does not apply.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("DELETE FROM kestra_iam_auditevent WHERE tenant_id = 'console'")
        cursor.execute(
            INSERT,
            {"days": days, "spread": spread, "integration": str(integration_id), "rows": ROWS},
        )
        cursor.execute("ANALYZE kestra_iam_auditevent")
    caches["default"].clear()


def _reads(integration, page: list) -> dict:
    from provisioning.activity import integration_activity, integrations_activity_by_day
    from provisioning.charts import activity_svg
    from provisioning.console import integration_console

    def console():
        built = integration_console(integration)
        return activity_svg(built.activity, unit="hour", width=840, height=120)

    return {
        "hourly activity, 168 buckets (ms)": lambda: integration_activity(integration.pk),
        "list page: 50 integrations x 7 days (ms)": lambda: integrations_activity_by_day(page),
        "whole console incl. readiness and chart (ms)": console,
    }


def console_at_scale(results: dict, notes: dict) -> dict[str, str]:
    """Time the console's reads on a million audit rows; returns their plans."""
    from django.db import connection

    from kestra_iam.models import AuditEvent
    from kestra_iam.services import tenant_create
    from provisioning.activity import activity_queryset, hourly_window
    from provisioning.services import integration_create

    integration = integration_create(
        tenant=tenant_create(tenant_id="console"), name="Console"
    ).integration
    plans = {}
    for label, days, spread in [("spread", 30, 10), ("one busy integration", 7, 1)]:
        started = time.perf_counter()
        _fill(integration.pk, days=days, spread=spread)
        in_window = AuditEvent.objects.filter(integration_id=integration.pk).count()
        notes[f"console, {label}: rows of the measured integration"] = in_window
        notes[f"console, {label}: seeding {ROWS:,} rows (s)"] = round(
            time.perf_counter() - started, 1
        )
        page = [integration.pk, *(uuid.uuid4() for _ in range(49))]
        timings = _reads(integration, page)
        for name, read in timings.items():
            cold, warm = _median_ms(read, cold=True), _median_ms(read, cold=False)
            notes[f"console, {label}: {name}, first view / next views"] = f"{cold} / {warm}"
        window = hourly_window()
        query = activity_queryset(
            [integration.pk], window[0], window[-1] + timedelta(hours=1), timedelta(hours=1)
        ).query
        plans[label] = _plan(*query.sql_with_params())
        if label == "spread":
            _trail_page(notes)
            _export_and_prune(notes)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM kestra_iam_auditevent WHERE tenant_id = 'console'")
    return plans


def _trail_page(notes: dict) -> None:
    """The audit trail's first page in the admin, as an admin opens it (sentences, links).
    Static files are named as in development: the bench does not run collectstatic."""
    from django.conf import settings
    from django.test import Client, override_settings

    plain = "django.contrib.staticfiles.storage.StaticFilesStorage"
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": plain}}
    with override_settings(STORAGES=storages):
        _time_trail_pages(notes, Client)


def _time_trail_pages(notes: dict, Client) -> None:

    from kestra_iam.models import User

    admin, _ = User.objects.get_or_create(
        user_name="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)
    for label, query in [("first page", ""), ("one kind", "?kind=refused"),
                         ("one subject", "?resource=" + _some_resource_id())]:  # fmt: skip

        def read(query=query):
            response = client.get("/admin/kestra_iam/auditevent/" + query, HTTP_HOST="localhost")
            assert response.status_code == 200, response.status_code

        notes[f"audit trail on {ROWS:,} events: {label} (ms)"] = _median_ms(read, cold=False)


def _some_resource_id() -> str:
    from kestra_iam.models import AuditEvent

    return AuditEvent.objects.filter(tenant_id="console").values_list("resource_id", flat=True)[0]


def _export_and_prune(notes: dict) -> None:
    from django.utils.timezone import now

    from kestra_iam.audit_export import lines, records
    from kestra_iam.management.commands.audit import prune
    from kestra_iam.models import AuditEvent

    events = AuditEvent.objects.filter(tenant_id="console")
    for format in ("jsonl", "csv"):
        started = time.perf_counter()
        size = sum(len(line) for line in lines(records(events), format))
        elapsed = time.perf_counter() - started
        notes[f"audit export, {ROWS:,} events as {format}: s, events/s, MB"] = (
            f"{elapsed:.1f} s, {ROWS / elapsed:,.0f}/s, {size / 1e6:,.0f} MB"
        )
    older = events.filter(occurred_at__lt=now() - timedelta(days=15)).count()
    started = time.perf_counter()
    deleted = prune(now() - timedelta(days=15))
    elapsed = time.perf_counter() - started
    notes["audit prune, older half: events, s, events/s"] = (
        f"{deleted:,} (of {older:,} older), {elapsed:.1f} s, {deleted / elapsed:,.0f}/s"
    )
