"""The project against django-scim2 with its stock adapters: the same Entra-shaped load of 1,000
users at concurrency 4, on both, on fresh tables of one PostgreSQL server.

Each operation runs in rounds that alternate between the two servers, so a burst of noise on
this shared machine falls on both; a side's figures merge its rounds. Results are keyed
`"<operation> | <who>"`; the report computes the ratios (project / peer).
"""

from __future__ import annotations

import json
import random
import time

from benchmarks import load
from benchmarks.endpoints import GROUP_SCHEMA, Endpoint, entra_user, filtered, patch
from benchmarks.servers import log

USERS = 1_000
CONCURRENCY = 4
ROUNDS = 4
OPERATIONS = (
    "POST /Users",
    "GET /Users?filter=userName eq",
    "GET /Users?filter=externalId eq",
    "GET /Users/{id}",
    "PATCH /Groups/{id} add 1 member",
)


def compare(project: Endpoint, peer: Endpoint, results: dict, notes: dict) -> None:
    endpoints = (project, peer)
    ids = _post_users(endpoints, results)
    for label, expression in (
        ("userName", lambda n: f'userName eq "{_name(n)}"'),
        ("externalId", lambda n: f'externalId eq "ext-{n}"'),
    ):
        interleaved(f"GET /Users?filter={label} eq", endpoints, results,
                     lambda e, r, x=expression: _lookup(e, x), requests=75)  # fmt: skip
    interleaved(OPERATIONS[3], endpoints, results, lambda e, r: _get(e, ids[e.name]), requests=75)
    groups = {e.name: e.create("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Adds"})["id"]
              for e in endpoints}  # fmt: skip
    interleaved(
        OPERATIONS[4], endpoints, results,
        lambda e, r: _add_member(e, groups[e.name], ids[e.name], r), requests=37,
    )  # fmt: skip
    for endpoint in endpoints:
        _bulk_member_add(endpoint, ids[endpoint.name], notes)
    notes["peer answers externalId filters"] = (
        "without a match and without a query: its stock filter does not know externalId"
    )


def _name(n: int) -> str:
    return f"person{n}@compare.example.com"


def interleaved(
    operation, endpoints, results, make_request, *, requests: int, rounds: int = ROUNDS
) -> dict:
    """`rounds` rounds of `requests` per worker on each endpoint in turn; merged per endpoint."""
    merged = {e.name: load.Result(operation) for e in endpoints}
    for round_ in range(rounds):
        for endpoint in endpoints:
            request, on_response = _unpack(make_request(endpoint, round_))
            result = endpoint.run(
                operation, request, concurrency=CONCURRENCY, requests_per_worker=requests,
                on_response=on_response,
            )  # fmt: skip
            total = merged[endpoint.name]
            total.samples += result.samples
            total.elapsed += result.elapsed
            total.server_cpu = (total.server_cpu or 0) + result.server_cpu
    for endpoint in endpoints:
        key = f"{operation} | {endpoint.name}"
        results[key] = merged[endpoint.name].summary()
        log(f"{key}: {results[key]}")
    return merged


def _unpack(made):
    return made if isinstance(made, tuple) else (made, None)


def _post_users(endpoints, results) -> dict[str, dict[int, str]]:
    """POST 1,000 users to each (in rounds of 250); returns {endpoint: {n: id}}."""
    ids = {e.name: {} for e in endpoints}
    per_worker = USERS // ROUNDS // CONCURRENCY + 1

    def make(endpoint, round_):
        def request(w, i):
            n = (round_ * CONCURRENCY + w) * per_worker + i
            return "POST", endpoint.base + "/Users", entra_user(_name(n), f"ext-{n}")

        def remember(w, i, status, data):
            if status == 201:
                ids[endpoint.name][(round_ * CONCURRENCY + w) * per_worker + i] = json.loads(data)[
                    "id"
                ]

        return request, remember

    interleaved(OPERATIONS[0], endpoints, results, make, requests=per_worker)
    for endpoint in endpoints:
        if len(ids[endpoint.name]) < USERS:
            raise SystemExit(f"{endpoint.name}: only {len(ids[endpoint.name])} users were created")
    return ids


def _lookup(endpoint: Endpoint, expression):
    """Entra's match: three lookups in four find a user, one in four finds none."""

    def request(w, i):
        n = random.randrange(USERS) if i % 4 else USERS * 10 + w * 1000 + i
        return "GET", filtered(endpoint.base + "/Users", expression(n)), None

    return request


def _get(endpoint: Endpoint, ids: dict[int, str]):
    known = list(ids.values())
    return lambda w, i: ("GET", endpoint.base + f"/Users/{random.choice(known)}", None)


def _add_member(endpoint: Endpoint, group: str, ids: dict[int, str], round_: int):
    """Entra's shape: one member per PATCH, each request a different user, into one group."""
    known = sorted(ids)

    def request(w, i):
        member = ids[known[(round_ * CONCURRENCY + w) * 40 + i]]
        return (
            "PATCH",
            endpoint.base + f"/Groups/{group}",
            patch("add", "members", [{"value": member}]),
        )

    return request


def _bulk_member_add(endpoint: Endpoint, ids: dict[int, str], notes: dict) -> None:
    bulk = endpoint.create("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Bulk"})["id"]
    body = patch("add", "members", [{"value": member} for member in list(ids.values())[:USERS]])
    began = time.perf_counter()
    status, _, queries = endpoint.client().send("PATCH", endpoint.base + f"/Groups/{bulk}", body)
    seconds = round(time.perf_counter() - began, 3)
    notes[f"PATCH adding 1,000 members | {endpoint.name}"] = {
        "status": status, "seconds": seconds, "queries": queries,
    }  # fmt: skip
    log(f"PATCH adding 1,000 members ({endpoint.name}): {seconds} s, status {status}")
