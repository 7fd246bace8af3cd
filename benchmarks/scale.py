"""Scale scenarios on seeded data: 100,000 users, 50,000-member groups, mixed Entra loads.

Each scenario is a function that records into `results` (request statistics, keyed by scenario)
and `notes` (single measurements). The data comes from `benchmarks.seed` (written in bulk, then
ANALYZE).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass

from benchmarks import load
from benchmarks.endpoints import HOST, Endpoint, entra_user, filtered, patch
from benchmarks.servers import CpuSplit, Server, log, rss_growth_mb

MIX_ONE, MIX_TEN = "mixed load, 1 tenant, c=5", "mixed load, 10 tenants x 25 rps"


@dataclass
class Seeded:
    big: dict
    small: dict
    mixed: list[dict]
    huge_group: str
    target_group: str
    ten_thousand: list[str]
    outsiders: list[str]


def seed_all() -> Seeded:
    """Seed the scale scenarios' data in bulk, then ANALYZE."""
    from benchmarks import seed  # needs Django set up

    t0 = time.time()
    big = seed.seed_tenant("big", 100_000)
    small = seed.seed_tenant("small", 1_000)
    mixed = [seed.seed_tenant(f"mix-{n}", 0) for n in range(10)]
    data = Seeded(
        big=big,
        small=small,
        mixed=mixed,
        huge_group=seed.seed_group("big", "Fifty thousand", members=range(0, 50_000)),
        target_group=seed.seed_group("big", "Ten thousand target"),
        ten_thousand=seed.user_ids("big", range(60_000, 70_000)),
        outsiders=seed.user_ids("big", range(50_000, 51_000)),
    )
    seed.seed_many_groups("big", 1000, members_each=5)
    for tenant in mixed:
        tenant["group"] = seed.seed_group(tenant["tenant"], "Mixed load group")
    seed.analyse()
    log(f"seeded 101,000 users, 1,003 groups, 55,000 memberships in {time.time() - t0:.0f} s")
    return data


def endpoint(server: Server, tenant: dict) -> Endpoint:
    base = f"/api/v1/{tenant['tenant']}/integrations/{tenant['integration']}/scim/v2"
    return Endpoint(tenant["tenant"], server, base, tenant["token"])


def record(results: dict, key: str, result: load.Result) -> load.Result:
    results[key] = result.summary()
    log(f"{key}: {results[key]}")
    return result


def lookup_flatness(server: Server, data: Seeded, results: dict, notes: dict) -> None:
    """Target 1: a filtered lookup costs the same at 100,000 users as at 1,000."""
    from benchmarks import seed  # needs Django set up

    lookups = {
        "userName": lambda t, n: f'userName eq "{seed.user_name(t, n)}"',
        "externalId": lambda t, n: f'externalId eq "ext-{n}"',
        "emails": lambda t, n: f'emails[type eq "work"].value eq "{seed.user_name(t, n)}"',
    }
    for label, expression in lookups.items():
        for tenant, size in ((data.small, 1_000), (data.big, 100_000)):
            target = endpoint(server, tenant)

            def request(w, i, target=target, size=size, expression=expression):
                n = random.randrange(size) if i % 4 else size + i  # a quarter miss
                return "GET", filtered(target.base + "/Users", expression(target.name, n)), None

            result = target.run(label, request, concurrency=4, requests_per_worker=300)
            record(results, f"lookup {label} @{size}", result)
        ratio = results[f"lookup {label} @100000"]["p95_ms"] / max(
            results[f"lookup {label} @1000"]["p95_ms"], 0.01
        )
        notes[f"lookup {label} p95 ratio 100k/1k"] = round(ratio, 2)


def writes_against_bare(server: Server, data: Seeded, results: dict, notes: dict) -> None:
    """Target 2: POST /Users and a filtered GET against a bare token-checking DRF endpoint."""
    from benchmarks import seed  # needs Django set up

    small, big = endpoint(server, data.small), endpoint(server, data.big)
    bare = f"/bench/auth-only/{data.small['tenant']}/{data.small['integration']}"
    record(results, "bare DRF auth-only c=8",
           small.run("bare", lambda w, i: ("GET", bare, None), concurrency=8,
                     requests_per_worker=250))  # fmt: skip

    def post_user(w, i):
        name = f"posted-{w}-{i}-{uuid.uuid4().hex[:6]}@example.com"
        return "POST", small.base + "/Users", entra_user(name, name[:60])

    def lookup(w, i):
        name = seed.user_name("big", random.randrange(100_000))
        return "GET", filtered(big.base + "/Users", f'userName eq "{name}"'), None

    record(results, "POST /Users c=8",
           small.run("post", post_user, concurrency=8, requests_per_worker=150))  # fmt: skip
    record(results, "filtered GET c=8",
           big.run("get", lookup, concurrency=8, requests_per_worker=250))  # fmt: skip
    bare_rate = results["bare DRF auth-only c=8"]["rps"]
    notes["POST rate / bare rate"] = round(results["POST /Users c=8"]["rps"] / bare_rate, 2)
    notes["filtered GET rate / bare rate"] = round(
        results["filtered GET c=8"]["rps"] / bare_rate, 2
    )


def member_patch_10k(server: Server, data: Seeded, results: dict, notes: dict) -> None:
    """Target 3: one PATCH adding, then removing, 10,000 members: constant queries, bounded RSS."""
    client = endpoint(server, data.big).client()
    members = [{"value": i} for i in data.ten_thousand]
    group_path = endpoint(server, data.big).base + f"/Groups/{data.target_group}"
    for verb, op in (("add", "add"), ("remove", "Remove")):
        before = server.worker_rss()
        began = time.perf_counter()
        status, _, queries = client.send("PATCH", group_path, patch(op, "members", members))
        seconds = time.perf_counter() - began
        notes[f"PATCH {verb} 10,000 members"] = {
            "status": status, "seconds": round(seconds, 3), "queries": queries,
            "rss_growth_mb": rss_growth_mb(before, server.worker_rss()),
        }  # fmt: skip
        log(f"PATCH {verb} 10,000 members: {notes[f'PATCH {verb} 10,000 members']}")
    for verb, op in (("add", "add"), ("remove", "Remove")):
        _, _, queries = client.send("PATCH", group_path, patch(op, "members", members[:1]))
        notes[f"PATCH {verb} 1 member queries"] = queries


def huge_groups(server: Server, data: Seeded, results: dict, notes: dict) -> None:
    """Targets 4 and 5: one member into a 50,000-member group; reading it; group pages."""
    big = endpoint(server, data.big)

    def add_one(w, i):
        body = patch("Add", "members", [{"value": data.outsiders[w * 200 + i]}])
        return "PATCH", big.base + f"/Groups/{data.huge_group}", body

    record(results, "add 1 member to 50k group",
           big.run("add one", add_one, concurrency=2, requests_per_worker=200))  # fmt: skip
    before = server.worker_rss()
    gets = big.run("get huge", lambda w, i: ("GET", big.base + f"/Groups/{data.huge_group}", None),
                   concurrency=1, requests_per_worker=5)  # fmt: skip
    notes["GET 50k group rss_growth_mb"] = rss_growth_mb(before, server.worker_rss())
    record(results, "GET 50k-member group", gets)

    def group_page(w, i):
        start = 1 + 100 * ((w * 75 + i) % 10)
        return (
            "GET",
            big.base + f"/Groups?excludedAttributes=members&count=100&startIndex={start}",
            None,
        )

    record(results, "GET /Groups pages (no members)",
           big.run("group pages", group_page, concurrency=4, requests_per_worker=75))  # fmt: skip


def paging(server: Server, data: Seeded, results: dict, notes: dict) -> None:
    """Target 6: paging through 100,000 users by 100."""
    big = endpoint(server, data.big)
    result = big.run(
        "paging",
        lambda w, i: ("GET", big.base + f"/Users?count=100&startIndex={1 + 100 * i}", None),
        concurrency=1,
        requests_per_worker=1000,
    )
    record(results, "page through 100k users", result)
    deep = load.Result("deep", result.samples[-100:], 1)
    notes["deepest 100 pages p95_ms"] = round(deep.percentile(95), 1)
    notes["slowest page ms"] = round(max(s.seconds for s in result.samples) * 1000, 1)


def mixed_loads(server: Server, data: Seeded, results: dict, notes: dict) -> None:
    """Target 7: Entra's mix per new user — a match, a create, a group add, one in ten disabled —
    from one tenant (5 clients), then from ten tenants offering 25 requests/s each."""
    for key, tenants, options in (
        (MIX_ONE, data.mixed[:1], {"concurrency": 5}),
        (MIX_TEN, data.mixed, {"concurrency": 50, "rate_per_worker": 5.0}),
    ):
        label = "one" if key == MIX_ONE else "ten"  # distinct userNames for each run
        request, remember = _entra_mix(label, [(endpoint(server, t), t["group"]) for t in tenants])
        with CpuSplit(server) as cpu:
            result = load.run(key, HOST, server.port, lambda w, ts=tenants: ts[w // 5]["token"],
                              request, duration=30, on_response=remember, **options)  # fmt: skip
        record(results, key, result)
        notes[f"CPU % during {key}"] = cpu.split


def _entra_mix(run_label: str, tenants: list):
    created: dict[tuple[int, int], str] = {}

    def request(w, i):
        tenant, group = tenants[w // 5]
        series, step = divmod(i, 4)
        name = f"{run_label}-{w}-{series}@{tenant.name}.example.com"
        user_id = created.get((w, series))
        if step == 0:
            return "GET", filtered(tenant.base + "/Users", f'userName eq "{name}"'), None
        if step == 1:
            return "POST", tenant.base + "/Users", entra_user(name, name[:60])
        if step == 2 and user_id:
            body = patch("Add", "members", [{"$ref": None, "value": user_id}])
            return "PATCH", tenant.base + f"/Groups/{group}", body
        if step == 3 and user_id and series % 10 == 0:
            return "PATCH", tenant.base + f"/Users/{user_id}", patch("Replace", "active", "False")
        expression = 'displayName eq "Mixed load group"'
        return (
            "GET",
            filtered(tenant.base + "/Groups", expression) + "&excludedAttributes=members",
            None,
        )

    def remember(w, i, status, data):
        if i % 4 == 1 and status == 201:
            created[(w, i // 4)] = json.loads(data)["id"]

    return request, remember
