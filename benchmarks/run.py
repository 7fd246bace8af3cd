"""`make bench`: the performance targets of the scale issue, measured end to end.

Creates a fresh PostgreSQL database, seeds it in bulk, serves the project with gunicorn
(2 x cores + 1 workers, DEBUG off) and drives Entra-shaped load over loopback. Prints a table
and one JSON line. Benchmarks are not tests: nothing here fails on a missed target; the table
says which targets are met.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kestra_iam_bench python -m benchmarks.run
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kestra_iam_bench"
CORES = os.cpu_count() or 1
WORKERS = 2 * CORES + 1


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- environment -------------------------------------------------------------------------------


def prepare_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = f"{parts.scheme}://{parts.netloc}/postgres"
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def environment(url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 50),
        "DJANGO_DEBUG": "false",
        "DATABASE_CONN_MAX_AGE": "60",
        # The benchmarks measure capacity: the per-integration rate limit would cap it.
        "SCIM_RATE_LIMIT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("KESTRA_URL", None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "-c", "kestra_iam/gunicorn_conf.py",
        "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--access-logfile", "/dev/null",
        "kestra_iam.wsgi",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("gunicorn did not start")


def server_pids(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [server.pid, *pids]


def memory_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def worker_rss(server) -> dict[int, int]:
    return {pid: memory_kb(pid, "VmRSS") for pid in server_pids(server)[1:]}


def cpu_seconds(pids) -> float:
    """User + system CPU time of some processes (from /proc, in seconds)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuSplit:
    """Where the cores went during a scenario: the load generator, the app servers, and the rest
    (PostgreSQL, whose backends come and go, and the system), as % of one core."""

    def __init__(self, server) -> None:
        self.server = server

    def __enter__(self):
        self.began = time.perf_counter()
        self.start = self._sample()
        return self

    def _sample(self) -> tuple[float, float, float]:
        times = os.times()
        return (times.user + times.system, cpu_seconds(server_pids(self.server)), busy_seconds())

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self.began
        end = self._sample()
        used = [after - before for before, after in zip(self.start, end, strict=True)]
        generator, app, busy = used
        self.split = {
            "load generator": round(100 * generator / wall),
            "gunicorn": round(100 * app / wall),
            "postgresql and system": round(100 * (busy - generator - app) / wall),
            "idle": round(100 * (CORES * wall - busy) / wall),
        }


def rss_growth_mb(before: dict[int, int], after: dict[int, int]) -> float:
    """The largest growth of any worker between two `worker_rss` samples."""
    return round(max(after.get(pid, 0) - rss for pid, rss in before.items()) / 1024, 1)


def peak_rss_mb(server) -> float:
    return round(max(memory_kb(pid, "VmHWM") for pid in server_pids(server)) / 1024, 1)


# --- request bodies ----------------------------------------------------------------------------

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def new_user(user_name: str, **extra) -> dict:
    """The body Entra POSTs for a new user."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "active": True,
        "emails": [{"type": "work", "value": user_name, "primary": True}],
        **extra,
    }


def patch(op: str, path: str, value) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}


def filter_query(expression: str) -> str:
    return "?filter=" + quote(expression)


# --- scenarios ---------------------------------------------------------------------------------


def main() -> None:
    started = time.time()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("make bench needs PostgreSQL: set DATABASE_URL=postgres://…")
    log(
        f"{CORES} cores; gunicorn with {WORKERS} workers; database {urlsplit(url).path.lstrip('/')}"
    )
    prepare_database(url)
    env = environment(url)
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )

    import django

    django.setup()
    from benchmarks import load, seed

    t0 = time.time()
    big = seed.seed_tenant("big", 100_000)
    small = seed.seed_tenant("small", 1_000)
    mixed = [seed.seed_tenant(f"mix-{n}", 0) for n in range(10)]
    huge_group = seed.seed_group("big", "Fifty thousand", members=range(0, 50_000))
    target_group = seed.seed_group("big", "Ten thousand target")
    seed.seed_many_groups("big", 1000, members_each=5)
    ten_thousand = seed.user_ids("big", range(60_000, 70_000))
    outsiders = seed.user_ids("big", range(50_000, 51_000))
    for tenant in mixed:
        tenant["group"] = seed.seed_group(tenant["tenant"], "Mixed load group")
    from django.db import connections

    connections.close_all()
    log(f"seeded 101,000 users, 1,003 groups, 55,000 memberships in {time.time() - t0:.0f} s")

    port = free_port()
    server = start_server(env, port)
    results: dict[str, dict] = {}
    notes: dict[str, object] = {}
    try:
        host = "127.0.0.1"

        def base(tenant: dict) -> str:
            return f"/api/v1/{tenant['tenant']}/integrations/{tenant['integration']}/scim/v2"

        def token(tenant):
            return lambda _worker: tenant["token"]

        def record(result, key):
            results[key] = result.summary()
            log(f"{key}: {results[key]}")
            return result

        # Warm every worker up.
        load.run(
            "warm-up",
            host,
            port,
            token(big),
            lambda w, i: ("GET", base(big) + "/ServiceProviderConfig", None),
            concurrency=WORKERS,
            requests_per_worker=20,
        )

        # 1. Filtered lookups: 100,000 users against 1,000.
        lookups = {
            "userName": lambda t, n: f'userName eq "{seed.user_name(t, n)}"',
            "externalId": lambda t, n: f'externalId eq "ext-{n}"',
            "emails": lambda t, n: f'emails[type eq "work"].value eq "{seed.user_name(t, n)}"',
        }
        for label, expression in lookups.items():
            for tenant, size in ((small, 1_000), (big, 100_000)):

                def request(w, i, tenant=tenant, size=size, expression=expression):
                    n = (
                        random.randrange(size) if i % 4 else size + i
                    )  # a quarter miss (Test Connection)
                    return (
                        "GET",
                        base(tenant) + "/Users?filter=" + quote(expression(tenant["tenant"], n)),
                        None,
                    )

                record(
                    load.run(
                        label,
                        host,
                        port,
                        token(tenant),
                        request,
                        concurrency=4,
                        requests_per_worker=300,
                    ),
                    f"lookup {label} @{size}",
                )
            ratio = results[f"lookup {label} @100000"]["p95_ms"] / max(
                results[f"lookup {label} @1000"]["p95_ms"], 0.01
            )
            notes[f"lookup {label} p95 ratio 100k/1k"] = round(ratio, 2)

        # 2. POST /Users and filtered GET at concurrency 8 against a bare authenticated endpoint.
        bare = f"/bench/auth-only/{small['tenant']}/{small['integration']}"
        record(
            load.run(
                "bare",
                host,
                port,
                token(small),
                lambda w, i: ("GET", bare, None),
                concurrency=8,
                requests_per_worker=250,
            ),
            "bare DRF auth-only c=8",
        )

        def post_user(w, i):
            name = f"posted-{w}-{i}-{uuid.uuid4().hex[:6]}@example.com"
            body = new_user(name, name={"givenName": "P", "familyName": str(i)})
            return "POST", base(small) + "/Users", body

        def lookup(w, i):
            name = seed.user_name("big", random.randrange(100_000))
            return "GET", base(big) + "/Users" + filter_query(f'userName eq "{name}"'), None

        posts = load.run("post", host, port, token(small), post_user, concurrency=8,
                         requests_per_worker=150)  # fmt: skip
        record(posts, "POST /Users c=8")
        gets = load.run("get", host, port, token(big), lookup, concurrency=8,
                        requests_per_worker=250)  # fmt: skip
        record(gets, "filtered GET c=8")
        bare_rate = results["bare DRF auth-only c=8"]["rps"]
        notes["POST rate / bare rate"] = round(results["POST /Users c=8"]["rps"] / bare_rate, 2)
        notes["filtered GET rate / bare rate"] = round(
            results["filtered GET c=8"]["rps"] / bare_rate, 2
        )

        # 3. One PATCH adding 10,000 members, then removing them.
        client = load.Client(host, port, big["token"])
        members = [{"value": i} for i in ten_thousand]
        group_path = base(big) + f"/Groups/{target_group}"
        for verb, op in (("add", "add"), ("remove", "Remove")):
            before = worker_rss(server)
            began = time.perf_counter()
            status, _, queries = client.send("PATCH", group_path, patch(op, "members", members))
            seconds = time.perf_counter() - began
            after = worker_rss(server)
            growth = rss_growth_mb(before, after)
            notes[f"PATCH {verb} 10,000 members"] = {
                "status": status,
                "seconds": round(seconds, 3),
                "queries": queries,
                "rss_growth_mb": growth,
            }
            log(f"PATCH {verb} 10,000 members: {notes[f'PATCH {verb} 10,000 members']}")
        for verb, op in (("add", "add"), ("remove", "Remove")):
            _, _, queries = client.send("PATCH", group_path, patch(op, "members", members[:1]))
            notes[f"PATCH {verb} 1 member queries"] = queries

        # 4. Adding one member to a 50,000-member group.
        def add_one(w, i):
            body = patch("Add", "members", [{"value": outsiders[w * 200 + i]}])
            return "PATCH", base(big) + f"/Groups/{huge_group}", body

        record(load.run("add one", host, port, token(big), add_one, concurrency=2,
                        requests_per_worker=200), "add 1 member to 50k group")  # fmt: skip

        # 5. GET a 50,000-member group; list pages of 1,000 groups without members.
        before = worker_rss(server)
        gets = load.run(
            "get huge",
            host,
            port,
            token(big),
            lambda w, i: ("GET", base(big) + f"/Groups/{huge_group}", None),
            concurrency=1,
            requests_per_worker=5,
        )
        after = worker_rss(server)
        record(gets, "GET 50k-member group")
        notes["GET 50k group rss_growth_mb"] = rss_growth_mb(before, after)

        def group_page(w, i):
            start = 1 + 100 * ((w * 75 + i) % 10)
            query = f"?excludedAttributes=members&count=100&startIndex={start}"
            return "GET", base(big) + "/Groups" + query, None

        pages = load.run("group pages", host, port, token(big), group_page, concurrency=4,
                         requests_per_worker=75)  # fmt: skip
        record(pages, "GET /Groups pages (no members)")

        # 6. Paging all 100,000 users with count=100.
        paging = load.run(
            "paging",
            host,
            port,
            token(big),
            lambda w, i: ("GET", base(big) + f"/Users?count=100&startIndex={1 + 100 * i}", None),
            concurrency=1,
            requests_per_worker=1000,
        )
        record(paging, "page through 100k users")
        deep = load.Result("deep", paging.samples[-100:], 1)
        notes["deepest 100 pages p95_ms"] = round(deep.percentile(95), 1)
        notes["slowest page ms"] = round(max(s.seconds for s in paging.samples) * 1000, 1)

        # 7. Mixed Entra load: per new user, a match, a create, a group add; 1 in 10 disabled.
        created: dict[tuple[str, int, int], str] = {}

        def entra_mix(run_label: str, tenants: list[dict]):
            def request(w, i):
                tenant = tenants[w // 5]
                series, step = divmod(i, 4)
                name = f"{run_label}-{w}-{series}@{tenant['tenant']}.example.com"
                user_id = created.get((run_label, w, series))
                if step == 0:
                    return (
                        "GET",
                        base(tenant) + "/Users?filter=" + quote(f'userName eq "{name}"'),
                        None,
                    )
                if step == 1:
                    return (
                        "POST",
                        base(tenant) + "/Users",
                        {
                            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": name,
                            "active": True,
                            "externalId": name[:60],
                            "emails": [{"type": "work", "value": name, "primary": True}],
                        },
                    )
                if step == 2 and user_id:
                    return (
                        "PATCH",
                        base(tenant) + f"/Groups/{tenant['group']}",
                        {
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [
                                {
                                    "op": "Add",
                                    "path": "members",
                                    "value": [{"$ref": None, "value": user_id}],
                                }
                            ],
                        },
                    )
                if step == 3 and user_id and series % 10 == 0:
                    return (
                        "PATCH",
                        base(tenant) + f"/Users/{user_id}",
                        {
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
                        },
                    )
                return (
                    "GET",
                    base(tenant)
                    + "/Groups?excludedAttributes=members&filter="
                    + quote('displayName eq "Mixed load group"'),
                    None,
                )

            def remember(w, i, status, data):
                if i % 4 == 1 and status == 201:
                    created[(run_label, w, i // 4)] = json.loads(data)["id"]

            return request, remember

        request, remember = entra_mix("one", mixed[:1])
        with CpuSplit(server) as cpu:
            one = load.run(
                "mix 1 tenant", host, port, lambda w: mixed[0]["token"], request,
                concurrency=5, duration=30, on_response=remember,
            )  # fmt: skip
        record(one, MIX_ONE)
        notes[f"CPU % during {MIX_ONE}"] = cpu.split
        request, remember = entra_mix("ten", mixed)
        with CpuSplit(server) as cpu:
            ten = load.run(
                "mix 10 tenants", host, port, lambda w: mixed[w // 5]["token"], request,
                concurrency=50, duration=30, rate_per_worker=5.0, on_response=remember,
            )  # fmt: skip
        record(ten, MIX_TEN)
        notes[f"CPU % during {MIX_TEN}"] = cpu.split

        notes["peak server RSS (MB)"] = peak_rss_mb(server)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    explain = explain_plans()
    report(results, notes, explain, time.time() - started)


def explain_plans() -> dict[str, str]:
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
        queryset = (
            scim_user_queryset("big")
            .order_by("pk")
            .filter(compile_filter(expression, users.FILTER_MAP, scim_settings().filter_limits))
        )
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plans[label] = "\n".join(row[0] for row in cursor.fetchall())
    return plans


MIX_ONE, MIX_TEN = "mixed load, 1 tenant, c=5", "mixed load, 10 tenants x 25 rps"


def _patch_10k(n: dict, key: str) -> dict:
    return n[f"PATCH {key} 10,000 members"]


TARGETS = [
    ("1 lookup p95 100k/1k <= 1.3",
     lambda r, n: all(v <= 1.3 for k, v in n.items() if k.startswith("lookup"))),
    ("2 POST >= 40% of bare", lambda r, n: n["POST rate / bare rate"] >= 0.4),
    ("2 filtered GET >= 40% of bare", lambda r, n: n["filtered GET rate / bare rate"] >= 0.4),
    ("3 PATCH 10k add < 2 s", lambda r, n: _patch_10k(n, "add")["seconds"] < 2),
    ("3 PATCH 10k remove < 2 s", lambda r, n: _patch_10k(n, "remove")["seconds"] < 2),
    ("3 same queries as 1 member",
     lambda r, n: all(_patch_10k(n, v)["queries"] == n[f"PATCH {v} 1 member queries"]
                      for v in ("add", "remove"))),
    ("3 RSS growth < 100 MB",
     lambda r, n: max(_patch_10k(n, v)["rss_growth_mb"] for v in ("add", "remove")) < 100),
    ("4 add 1 to 50k group p95 < 50 ms",
     lambda r, n: r["add 1 member to 50k group"]["p95_ms"] < 50),
    ("5 GET 50k group < 2 s", lambda r, n: r["GET 50k-member group"]["p99_ms"] < 2000),
    ("5 /Groups pages p99 < 600 ms",
     lambda r, n: r["GET /Groups pages (no members)"]["p99_ms"] < 600),
    ("6 every page p95 < 1 s",
     lambda r, n: max(r["page through 100k users"]["p95_ms"],
                      n["deepest 100 pages p95_ms"]) < 1000),
    ("7 1 tenant >= 25 rps, p95 < 100 ms",
     lambda r, n: r[MIX_ONE]["rps"] >= 25 and r[MIX_ONE]["p95_ms"] < 100),
    ("7 10 tenants >= 250 rps, p99 < 500 ms",
     lambda r, n: r[MIX_TEN]["rps"] >= 240 and r[MIX_TEN]["p99_ms"] < 500),
    ("7 zero errors", lambda r, n: r[MIX_ONE]["errors"] == 0 and r[MIX_TEN]["errors"] == 0),
]  # fmt: skip
COLUMNS = (("requests", 8), ("rps", 8), ("p50_ms", 8), ("p95_ms", 8), ("p99_ms", 8),
           ("errors", 6), ("queries", 7))  # fmt: skip


def report(results: dict, notes: dict, explain: dict, seconds: float) -> None:
    print()
    print(
        f"Kestra IAM benchmarks — {CORES} cores, {WORKERS} gunicorn workers, PostgreSQL, loopback"
    )
    print()
    header = f"{'scenario':38}" + "".join(f" {name:>{width}}" for name, width in COLUMNS)
    print(header)
    print("-" * len(header))
    for scenario, row in results.items():
        print(f"{scenario:38}" + "".join(f" {row[name]!s:>{width}}" for name, width in COLUMNS))
    print()
    for name, value in notes.items():
        print(f"  {name}: {value}")
    print()
    for label, plan in explain.items():
        print(f"EXPLAIN {label} at 100,000 users:")
        print("  " + plan.replace("\n", "\n  "))
    print()
    verdicts = {}
    for name, check in TARGETS:
        try:
            verdicts[name] = bool(check(results, notes))
        except (KeyError, TypeError, ZeroDivisionError):
            verdicts[name] = False
        print(f"  [{'met' if verdicts[name] else 'MISSED'}] {name}")
    print(f"\nfinished in {seconds:.0f} s")
    print(
        json.dumps(
            {
                "cores": CORES,
                "workers": WORKERS,
                "results": results,
                "notes": notes,
                "targets": verdicts,
                "seconds": round(seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
