"""What `make bench` prints: the results table, the ratios to the peer, the plans, the targets
(each met or missed), and one JSON line with everything."""

from __future__ import annotations

import json

from benchmarks.compare import OPERATIONS
from benchmarks.scale import MIX_ONE, MIX_TEN
from benchmarks.servers import CORES, WORKERS

PROJECT, PEER = "Kestra IAM", "django-scim2"
COLUMNS = (("requests", 8), ("rps", 8), ("p50_ms", 8), ("p95_ms", 8), ("p99_ms", 8),
           ("errors", 6), ("queries", 7), ("cpu_ms", 7))  # fmt: skip


def ratios(results: dict, notes: dict) -> dict:
    """Project / peer throughput for every compared operation (higher is better), and the
    peer / project time of the 1,000-member PATCH."""
    found = {}
    for operation in OPERATIONS:
        ours, theirs = results.get(f"{operation} | {PROJECT}"), results.get(f"{operation} | {PEER}")
        if ours and theirs and theirs["rps"]:
            found[operation] = round(ours["rps"] / theirs["rps"], 2)
        if ours and theirs and ours.get("cpu_ms"):
            found[f"{operation} (server CPU per request)"] = round(
                theirs["cpu_ms"] / ours["cpu_ms"], 2
            )
    ours = notes.get(f"PATCH adding 1,000 members | {PROJECT}", {}).get("seconds")
    theirs = notes.get(f"PATCH adding 1,000 members | {PEER}", {}).get("seconds")
    if ours and theirs:
        found["PATCH adding 1,000 members (time)"] = round(theirs / ours, 2)
    return found


def _10k(n: dict, key: str) -> dict:
    return n[f"PATCH {key} 10,000 members"]


def _ratio(x: dict, operation: str) -> float:
    return x["ratios"][operation]


TARGETS = [
    ("peer: POST /Users >= 1.2x", lambda r, n, x: _ratio(x, OPERATIONS[0]) >= 1.2),
    ("peer: lookup userName >= 1.5x", lambda r, n, x: _ratio(x, OPERATIONS[1]) >= 1.5),
    # django-scim2's stock filter does not know externalId: it answers an empty list without a
    # query, so there is nothing to be faster than (the row is printed, the target is n/a).
    ("peer: lookup externalId >= 1.5x", lambda r, n, x: None),
    ("peer: GET /Users/{id} >= 1.5x", lambda r, n, x: _ratio(x, OPERATIONS[3]) >= 1.5),
    ("peer: member add (one per PATCH, Entra's shape) >= 3x",
     lambda r, n, x: _ratio(x, OPERATIONS[4]) >= 3),
    ("peer: member add (1,000 in one PATCH) >= 3x",
     lambda r, n, x: _ratio(x, "PATCH adding 1,000 members (time)") >= 3),
    ("fresh tables: lookup p95 within 1.5x of analysed",
     lambda r, n, x: max(n["fresh / analysed lookup p95, userName"],
                         n["fresh / analysed lookup p95, externalId"]) <= 1.5),
    ("1 lookup p95 100k/1k <= 1.3",
     lambda r, n, x: all(v <= 1.3 for k, v in n.items() if k.startswith("lookup"))),
    ("2 POST >= 40% of bare", lambda r, n, x: n["POST rate / bare rate"] >= 0.4),
    ("2 filtered GET >= 40% of bare", lambda r, n, x: n["filtered GET rate / bare rate"] >= 0.4),
    ("3 PATCH 10k add < 2 s", lambda r, n, x: _10k(n, "add")["seconds"] < 2),
    ("3 PATCH 10k remove < 2 s", lambda r, n, x: _10k(n, "remove")["seconds"] < 2),
    ("3 same queries as 1 member",
     lambda r, n, x: all(_10k(n, v)["queries"] == n[f"PATCH {v} 1 member queries"]
                         for v in ("add", "remove"))),
    ("3 RSS growth < 100 MB",
     lambda r, n, x: max(_10k(n, v)["rss_growth_mb"] for v in ("add", "remove")) < 100),
    ("4 add 1 to 50k group p95 < 50 ms",
     lambda r, n, x: r["add 1 member to 50k group"]["p95_ms"] < 50),
    ("5 GET 50k group < 2 s", lambda r, n, x: r["GET 50k-member group"]["p99_ms"] < 2000),
    ("5 /Groups pages p99 < 600 ms",
     lambda r, n, x: r["GET /Groups pages (no members)"]["p99_ms"] < 600),
    ("6 every page p95 < 1 s",
     lambda r, n, x: max(r["page through 100k users"]["p95_ms"],
                         n["deepest 100 pages p95_ms"]) < 1000),
    ("7 1 tenant >= 25 rps, p95 < 100 ms",
     lambda r, n, x: r[MIX_ONE]["rps"] >= 25 and r[MIX_ONE]["p95_ms"] < 100),
    # An open-loop client offers exactly 250 requests/s: "served" is at least 99 % of that
    # (the last requests of the 30 s window are still in flight when it closes).
    ("7 10 tenants: the offered 250 rps served (>= 247.5 rps), p99 < 500 ms",
     lambda r, n, x: r[MIX_TEN]["rps"] >= 247.5 and r[MIX_TEN]["p99_ms"] < 500),
    ("7 zero errors", lambda r, n, x: r[MIX_ONE]["errors"] == 0 and r[MIX_TEN]["errors"] == 0),
    ("access: batch of 100 checks p95 < 25 ms (c=4 and c=8)",
     lambda r, n, x: max(r[f"decision API: batch of 100, c={c}"]["p95_ms"] for c in (4, 8)) < 25),
    ("access: in process at least pycasbin's rate (one check at a time)",
     lambda r, n, x: n["in process: engine / pycasbin decisions/s (one check at a time)"] >= 1),
    ("access: same decisions as pycasbin",
     lambda r, n, x: n["engine and pycasbin: decisions compared"] > 0
     and n["engine and pycasbin: decisions that differ"] == 0),
    ("access: no stale answer after a binding change",
     lambda r, n, x: n["decision API: stale answers after a binding change (of 60)"] == 0),
    ("ops: metrics cost <= 5 % server CPU per request",
     lambda r, n, x: all(v <= 5 for k, v in n.items() if k.startswith("metrics on: extra"))),
]  # fmt: skip


def report(results: dict, notes: dict, plans: dict, seconds: float) -> None:
    extra = {"ratios": ratios(results, notes)}
    print(f"\nKestra IAM benchmarks — {CORES} cores, {WORKERS} gunicorn workers per server, "
          "PostgreSQL, loopback\n")  # fmt: skip
    header = f"{'scenario':62}" + "".join(f" {name:>{width}}" for name, width in COLUMNS)
    print(header)
    print("-" * len(header))
    for scenario, row in results.items():
        print(f"{scenario:62}" + "".join(f" {row[name]!s:>{width}}" for name, width in COLUMNS))
    print(f"\nAgainst {PEER} (project / peer: requests per second, and peer / project: server CPU")
    print("per request — higher is better for both):")
    for operation, ratio in extra["ratios"].items():
        print(f"  {operation:48} {ratio:>6}x")
    print()
    for name, value in notes.items():
        if not name.endswith("EXPLAIN"):
            print(f"  {name}: {value}")
    for title, group in plans.items():
        for label, plan in group.items():
            print(f"\nEXPLAIN {label} — {title}:\n  " + plan.replace("\n", "\n  "))
    print()
    verdicts = _verdicts(results, notes, extra)
    print(f"\nfinished in {seconds:.0f} s")
    print(json.dumps({"cores": CORES, "workers": WORKERS, "results": results, "notes": notes,
                      **extra, "targets": verdicts, "seconds": round(seconds)}))  # fmt: skip


def _verdicts(results: dict, notes: dict, extra: dict) -> dict:
    verdicts = {}
    for name, check in TARGETS:
        try:
            verdict = check(results, notes, extra)
            verdicts[name] = None if verdict is None else bool(verdict)
        except (KeyError, TypeError, ZeroDivisionError):
            verdicts[name] = False
        label = {True: "met", False: "MISSED", None: "n/a"}[verdicts[name]]
        print(f"  [{label}] {name}")
    return verdicts
