"""`make bench`: the project's performance, measured end to end, and against django-scim2.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kestra_iam_bench python -m benchmarks.run

1. Two brand-new databases on one PostgreSQL server: the project's and the peer's (django-scim2
   with its stock adapters, `benchmarks/peer/`). Both served by gunicorn with the same settings
   (2 x cores + 1 workers, persistent connections, DEBUG off, no rate limit).
2. The same Entra-shaped load on both, on fresh tables (`benchmarks.compare`).
3. Entra's initial sync of 5,000 users into the still-unanalysed project database, then the same
   lookups after ANALYZE (`benchmarks.fresh`); then what each row costs on disk, and that at
   10,000 tenants x 10,000 users (`benchmarks.footprint`).
4. What metrics and JSON request logs cost per request (`benchmarks.operations`).
5. 101,000 users seeded in bulk, then the scale scenarios (`benchmarks.scale`).
6. The admin console's reads on 1,000,000 audit events (`benchmarks.console`).
7. Access decisions on 100,000 users, 1,000 groups and 10,000 bindings, over HTTP and in
   process, against pycasbin on the same policy (`benchmarks.access`).

`--quick`, `--observability`, `--console` and `--access` run a part only.

Benchmarks are not tests: nothing here fails on a missed target; the report says which are met.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from benchmarks import access, compare, console, footprint, fresh, operations, scale
from benchmarks.endpoints import Endpoint
from benchmarks.report import PEER, PROJECT, report
from benchmarks.servers import CORES, ROOT, WORKERS, Server, log, recreate_database, sibling_url

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kestra_iam_bench"


def environment(url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PEER_DATABASE_URL": sibling_url(url, "_peer"),
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 50),
        "DJANGO_DEBUG": "false",
        "DATABASE_CONN_MAX_AGE": "60",
        # The benchmarks measure capacity: the per-integration rate limit would cap it.
        "SCIM_RATE_LIMIT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_STATIC_ROOT": tempfile.mkdtemp(prefix="bench-static-"),
    }
    env.pop("KESTRA_URL", None)
    return env


def start_peer(env: dict) -> Endpoint:
    peer_env = {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.peer.settings"}
    token = subprocess.run(
        [sys.executable, "-m", "benchmarks.peer.setup"], cwd=ROOT, env=peer_env, check=True,
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    server = Server(
        PEER, "benchmarks.peer.wsgi", peer_env, config="benchmarks/peer/gunicorn_conf.py"
    )
    return Endpoint(PEER, server.start(), "/scim/v2", token)


def project_endpoint(server: Server, tenant_id: str) -> Endpoint:
    from kestra_iam.services import tenant_create
    from provisioning.services import integration_create

    created = integration_create(tenant=tenant_create(tenant_id=tenant_id), name="Benchmark")
    base = f"/api/v1/{tenant_id}/integrations/{created.integration.pk}/scim/v2"
    return Endpoint(PROJECT, server, base, created.raw_token)


def main() -> None:
    started = time.time()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("make bench needs PostgreSQL: set DATABASE_URL=postgres://…")
    log(f"{CORES} cores; gunicorn with {WORKERS} workers per server")
    env = environment(url)
    for database in (url, env["PEER_DATABASE_URL"]):
        recreate_database(database)
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                   env=env, check=True)  # fmt: skip

    import django

    django.setup()
    results: dict[str, dict] = {}
    notes: dict[str, object] = {}
    plans: dict[str, dict] = {}
    server = Server(PROJECT, "kestra_iam.wsgi", env).start()
    peer = None
    try:
        if "--observability" in sys.argv:  # only what metrics and JSON logs cost
            operations.observability_cost(server, project_endpoint(server, "ops"), results, notes)
            return report(results, notes, plans, time.time() - started)
        if "--console" in sys.argv:  # only the admin console on a million audit rows
            plans["console activity"] = console.console_at_scale(results, notes)
            return report(results, notes, plans, time.time() - started)
        if "--access" in sys.argv:  # only access decisions
            access.access_at_scale(server, results, notes)
            return report(results, notes, plans, time.time() - started)
        peer = start_peer(env)
        compare.compare(project_endpoint(server, "compare"), peer, results, notes)
        peer.server.stop()
        fresh.fresh_sync(project_endpoint(server, "fresh"), results, notes)
        plans["fresh tables"] = notes.pop("fresh tables: EXPLAIN")
        plans["after ANALYZE"] = notes.pop("after ANALYZE: EXPLAIN")
        footprint.footprint(notes)
        operations.observability_cost(server, project_endpoint(server, "ops"), results, notes)
        if "--quick" in sys.argv:  # the comparisons only, while working on them
            return report(results, notes, plans, time.time() - started)
        data = scale.seed_all()
        for scenario in (scale.lookup_flatness, scale.writes_against_bare, scale.member_patch_10k,
                         scale.huge_groups, scale.paging, scale.mixed_loads):  # fmt: skip
            scenario(server, data, results, notes)
        notes["peak server RSS (MB)"] = server.peak_rss_mb()
        plans["100,000 users"] = explain_at_scale()
        plans["console activity"] = console.console_at_scale(results, notes)
        access.access_at_scale(server, results, notes)
    finally:
        server.stop()
        if peer is not None:
            peer.server.stop()
    report(results, notes, plans, time.time() - started)


def explain_at_scale() -> dict[str, str]:
    """The plans of the three Entra lookups at 100,000 users (target 1: index-backed)."""
    from django.db import connection

    from scim import users
    from scim.conf import scim_settings
    from scim.filters import compile_filter
    from scim.selectors import scim_user_queryset

    plans = {}
    for label, expression in {
        "userName": 'userName eq "user77777@big.example.com"',
        "externalId": 'externalId eq "ext-77777"',
        "emails": 'emails[type eq "work"].value eq "user77777@big.example.com"',
    }.items():
        condition = compile_filter(expression, users.FILTER_MAP, scim_settings().filter_limits)
        sql, params = (
            scim_user_queryset("big").order_by("pk").filter(condition).query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plans[label] = "\n".join(row[0] for row in cursor.fetchall())
    return plans


if __name__ == "__main__":
    main()
