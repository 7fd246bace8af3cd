"""Plan-proof on fresh tables: Entra's initial sync of 5,000 users into a brand-new database
that has never been analysed (autovacuum off), then the same lookups after ANALYZE.

The lookups' p95 before and after ANALYZE should be within 1.5x: the hot queries are shaped so
that the unique and tenant indexes are the only sensible plans whatever the statistics say.
"""

from __future__ import annotations

import random

from benchmarks.endpoints import Endpoint, entra_user, filtered
from benchmarks.servers import log

USERS = 5_000
CONCURRENCY = 4
LOOKUPS = 500  # per worker, after the sync


def _name(n: int) -> str:
    return f"hire{n}@fresh.example.com"


def fresh_sync(endpoint: Endpoint, results: dict, notes: dict) -> None:
    per_worker = USERS // CONCURRENCY

    def sync(w, i):
        n, step = w * per_worker + i // 2, i % 2
        if step == 0:  # Entra looks the user up first, and finds nobody
            return "GET", filtered(endpoint.base + "/Users", f'userName eq "{_name(n)}"'), None
        return "POST", endpoint.base + "/Users", entra_user(_name(n), f"hire-{n}")

    result = endpoint.run("sync", sync, concurrency=CONCURRENCY, requests_per_worker=2 * per_worker)
    results["fresh sync of 5,000 users (lookup + POST)"] = result.summary()
    log(f"fresh sync: {result.summary()}")
    notes["fresh tables: EXPLAIN"] = explain_hot_queries(endpoint)
    lookups(endpoint, "fresh tables (never analysed)", results)
    analyse()
    lookups(endpoint, "after ANALYZE", results)
    notes["after ANALYZE: EXPLAIN"] = explain_hot_queries(endpoint)
    for label in ("userName", "externalId"):
        fresh = results[f"lookup {label} eq, 5,000 users | fresh tables (never analysed)"]
        analysed = results[f"lookup {label} eq, 5,000 users | after ANALYZE"]
        notes[f"fresh / analysed lookup p95, {label}"] = round(
            fresh["p95_ms"] / max(analysed["p95_ms"], 0.01), 2
        )


def lookups(endpoint: Endpoint, when: str, results: dict) -> None:
    for label, expression in (
        ("userName", lambda n: f'userName eq "{_name(n)}"'),
        ("externalId", lambda n: f'externalId eq "hire-{n}"'),
    ):

        def request(w, i, expression=expression):
            return (
                "GET",
                filtered(endpoint.base + "/Users", expression(random.randrange(USERS))),
                None,
            )

        result = endpoint.run(label, request, concurrency=CONCURRENCY, requests_per_worker=LOOKUPS)
        key = f"lookup {label} eq, 5,000 users | {when}"
        results[key] = result.summary()
        log(f"{key}: {results[key]}")


def analyse() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def explain_hot_queries(endpoint: Endpoint) -> dict[str, str]:
    """EXPLAIN ANALYZE of the queries Entra's requests run: the compiled lookups, as the
    service executes them, and a first page of users."""
    from django.db import connection

    from kestra_iam.models import TenantAccess
    from kestra_iam.text import case_insensitive_key
    from scim import lookups
    from scim.selectors import scim_group_queryset, scim_user_queryset

    tenant = endpoint.base.split("/")[3]
    some = TenantAccess.objects.filter(tenant_id=tenant).order_by("pk")[USERS // 3]
    statements = {
        f"userName eq ({label})": lookups._access_page("username", 100).sql_with(
            tenant, case_insensitive_key(_name(n))
        )
        for label, n in (("a hit", USERS // 2), ("a miss", USERS + 1))
    }
    statements["externalId eq (step 1: the accesses)"] = lookups._user_ids_by_external_id(
        100
    ).sql_with(tenant, f"hire-{USERS // 3}")
    statements["externalId eq (step 2) and GET /Users/{id}"] = lookups._access_page(
        "id", 1
    ).sql_with(tenant, some.user_id)
    statements["first page of users"] = (
        scim_user_queryset(tenant).order_by("pk")[:100].query.sql_with_params()
    )
    statements["group displayName eq"] = (
        scim_group_queryset(tenant)
        .filter(display_name_key=case_insensitive_key("Mixed load group"))
        .query.sql_with_params()
    )
    plans = {}
    for label, (sql, params) in statements.items():
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + sql, params)
            plans[label] = "\n".join(row[0] for row in cursor.fetchall())
    return plans
