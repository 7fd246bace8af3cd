"""What observability costs: the same requests on four servers of one database — metrics off
(the default) twice, to show how far two identical servers differ on this machine, metrics on
(prometheus-client in multiprocess mode, as under gunicorn in production), and metrics plus one
JSON log line per request. Rounds alternate between the servers; the report compares server
CPU per request and throughput with the first. Then the CPU time the observation itself adds,
measured alone in a worker-like process (`benchmarks.observation_cost`)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

from benchmarks import compare
from benchmarks.endpoints import Endpoint, entra_user, filtered
from benchmarks.servers import ROOT, Server, log

USERS = 200
VARIANTS = {
    "metrics off": {},
    "metrics off, again": {},
    "metrics on": {"METRICS": "token", "METRICS_TOKEN": "bench-metrics-" + "m" * 32},
    "metrics + JSON logs": {
        "METRICS": "token",
        "METRICS_TOKEN": "bench-metrics-" + "m" * 32,
        "LOG_FORMAT": "json",
        "DJANGO_LOG_LEVEL": "INFO",
    },
}
OPERATIONS = ("GET /Users/{id}", "GET /Users?filter=userName eq")


def observability_cost(server: Server, endpoint: Endpoint, results: dict, notes: dict) -> None:
    """`endpoint` is an integration on `server`; three fresh servers of the same database serve
    it, one per variant, each warmed up (connections, caches) before anything is measured."""
    servers = [
        Server(name, "kestra_iam.wsgi", {**server.env, **extra}, quiet=True).start()
        for name, extra in VARIANTS.items()
    ]
    try:
        endpoints = [Endpoint(s.name, s, endpoint.base, endpoint.token) for s in servers]
        names = [f"user{n}@observability.example.com" for n in range(USERS)]
        ids = [endpoint.create("/Users", entra_user(name, f"obs-{n}"))["id"]
               for n, name in enumerate(names)]  # fmt: skip

        def get(endpoint, _round):
            return lambda w, i: ("GET", f"{endpoint.base}/Users/{random.choice(ids)}", None)

        def lookup(endpoint, _round):
            return lambda w, i: (
                "GET",
                filtered(endpoint.base + "/Users", f'userName eq "{random.choice(names)}"'),
                None,
            )

        for warming in endpoints:
            warming.run("warm-up", get(warming, 0), concurrency=8, requests_per_worker=50)
            warming.run("warm-up", lookup(warming, 0), concurrency=8, requests_per_worker=50)
        merged = {
            OPERATIONS[0]: compare.interleaved(
                OPERATIONS[0], endpoints, results, get, requests=50, rounds=8
            ),
            OPERATIONS[1]: compare.interleaved(
                OPERATIONS[1], endpoints, results, lookup, requests=50, rounds=8
            ),
        }
    finally:
        for variant_server in servers:
            variant_server.stop()
    for operation, by_variant in merged.items():
        base = by_variant["metrics off"]
        for variant in list(VARIANTS)[1:]:
            row = by_variant[variant]
            cpu = (row.server_cpu / row.count) / (base.server_cpu / base.count) - 1
            notes[f"{variant}: extra server CPU per request, {operation} (%)"] = round(100 * cpu, 1)
            notes[f"{variant}: throughput change, {operation} (%)"] = round(
                100 * (row.rate / base.rate - 1), 1
            )
    alone = json.loads(
        subprocess.run(
            [sys.executable, "-m", "benchmarks.observation_cost"], cwd=ROOT, env=server.env,
            check=True, capture_output=True, text=True,
        ).stdout
    )["observation µs per request"]  # fmt: skip
    base = merged[OPERATIONS[0]]["metrics off"]
    notes["observation alone: µs per request (metrics on)"] = alone
    notes["observation alone: % of GET /Users/{id} server CPU"] = round(
        100 * alone / (1e6 * base.server_cpu / base.count), 2
    )
    log("observability cost measured")
