"""The access scenario: decisions at a large tenant's scale, over HTTP, in process, and in pycasbin.

Seeded in SQL into tenant `access`: 100,000 users with active access, 1,000 groups, user n in
1 + n % 50 groups (2.55 million memberships), Kestra's 5 managed roles and 20 custom ones,
10,000 bindings (7,000 to groups, 3,000 to users; 2 % tenant-wide, the rest on namespaces 1 to 5
levels deep). The checks ask about random users, permissions and namespaces up to 6 levels
deep (a level below the deepest binding), tenant-level resources without one.

Measured:
- the decision API over gunicorn: single checks (concurrency 1 and 4) and batches of 100
  (concurrency 4 and 8), with the server's queries per request;
- in process: the engine's decisions/s (batches of 100, and one check at a time) against
  pycasbin's `enforce` on the same policy, after a warm-up of each; casbin's policy load time
  and the memory it takes; and whether the two agree on every sampled decision;
- freshness: a binding added, then removed, changes the very next answer of the API.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass

from benchmarks import load
from benchmarks.endpoints import HOST, Endpoint
from benchmarks.servers import Server, log, memory_kb

TENANT = "access"
USERS, GROUPS, BINDINGS, CUSTOM_ROLES = 100_000, 1_000, 10_000, 20
GROUP_BINDINGS = 7_000  # the rest are user bindings
JSON = "application/json"
BATCH = 100

# The namespace tree: 5 companies, then 10 teams, 10 projects, 10 stages, 4 parts below each.
LEVELS = (("c", 5), ("t", 10), ("p", 10), ("s", 10), ("x", 4))
NAMESPACED = ("FLOWS", "EXECUTIONS", "NAMESPACES", "KVSTORE", "SECRETS", "APPS", "TESTS")
TENANT_LEVEL = ("USERS", "GROUPS", "BINDINGS", "AUDITLOGS", "SETTINGS", "DASHBOARDS")
ACTIONS = ("CREATE", "READ", "UPDATE", "DELETE")


def _md5_uuid(text: str) -> uuid.UUID:
    """PostgreSQL's `md5(text)::uuid`, which the seeding SQL uses for ids."""
    return uuid.UUID(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest())


def user_id(n: int) -> uuid.UUID:
    return _md5_uuid(f"access-user-{n}")


def group_id(n: int) -> uuid.UUID:
    return _md5_uuid(f"access-group-{n}")


def namespace(rng: random.Random, depth: int) -> str:
    return ".".join(f"{prefix}{rng.randrange(size)}" for prefix, size in LEVELS[:depth])


USERS_SQL = """
INSERT INTO kestra_iam_user (id, password, is_superuser, user_name, user_name_key,
    is_staff, is_active, created_at, updated_at, version, primary_tenant_id)
SELECT md5('access-user-' || n)::uuid, '!', false, 'user' || n || '@access.example.com',
    'user' || n || '@access.example.com', false, true, now(), now(), 1, %(tenant)s
FROM generate_series(0, %(users)s - 1) AS n
"""
ACCESS_SQL = """
INSERT INTO kestra_iam_tenantaccess (external_id, active, created_at, updated_at, version,
    tenant_id, user_id, display_name, nick_name, title, user_type, profile_url,
    preferred_language, locale, timezone, name_formatted, name_family_name, name_given_name,
    name_middle_name, name_honorific_prefix, name_honorific_suffix, employee_number,
    cost_center, organization, division, department, scim_password)
SELECT 'ext-' || n, true, now(), now(), 1, %(tenant)s, md5('access-user-' || n)::uuid,
    'User ' || n, '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', ''
FROM generate_series(0, %(users)s - 1) AS n
"""
GROUPS_SQL = """
INSERT INTO kestra_iam_group (id, display_name, display_name_key, external_id, created_at,
    updated_at, version, tenant_id)
SELECT md5('access-group-' || n)::uuid, 'Team ' || n, 'team ' || n, '', now(), now(), 1,
    %(tenant)s
FROM generate_series(0, %(groups)s - 1) AS n
"""
# User n is in groups (n + 20 k) mod 1000 for k = 0 … n mod 50: 1 to 50 distinct groups.
MEMBERSHIPS_SQL = """
INSERT INTO kestra_iam_groupmembership (group_id, access_id, created_at)
SELECT md5('access-group-' || ((n + 20 * k) %% %(groups)s))::uuid, a.id, now()
FROM kestra_iam_tenantaccess AS a
CROSS JOIN LATERAL (SELECT substr(a.external_id, 5)::int AS n) AS u
CROSS JOIN LATERAL generate_series(0, u.n %% 50) AS k
WHERE a.tenant_id = %(tenant)s
"""


@dataclass
class Policy:
    """What was seeded, as the benchmark needs it again (roles by id, bindings as rows)."""

    roles: dict[int, frozenset[str]]  # role id → "RESOURCE:ACTION" strings
    bindings: list[tuple[str, str, int]]  # (subject "u:<id>" | "g:<id>", namespace, role id)


def seed(rng: random.Random) -> Policy:
    """Seed the tenant in SQL (without the settings' statement timeout), then ANALYZE."""
    from django.db import connection, transaction

    from kestra_iam.models import Binding, Role
    from kestra_iam.rbac.services import role_create
    from kestra_iam.services import tenant_create

    started = time.perf_counter()
    tenant = tenant_create(tenant_id=TENANT)  # with Kestra's managed roles
    for n in range(CUSTOM_ROLES):
        role_create(tenant=tenant, name=f"Custom {n}", permissions=_random_permissions(rng))
    values = {"tenant": TENANT, "users": USERS, "groups": GROUPS}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        for sql in (USERS_SQL, ACCESS_SQL, GROUPS_SQL):
            cursor.execute(sql, values)
        # Statistics first: on never-analysed tables the membership trigger's check of 2.55
        # million new rows picks a nested loop that ran for over 25 minutes (30 s with them).
        cursor.execute("ANALYZE kestra_iam_user, kestra_iam_tenantaccess, kestra_iam_group")
        cursor.execute(MEMBERSHIPS_SQL, values)
    roles = {role.pk: _pairs(role.permissions) for role in Role.objects.filter(tenant_id=TENANT)}
    rows = {}
    for b in range(BINDINGS):
        depth = 0 if b % 50 == 0 else 1 + b % 5
        subject = (
            f"g:{group_id(rng.randrange(GROUPS))}"
            if b < GROUP_BINDINGS
            else f"u:{user_id(rng.randrange(USERS))}"
        )
        rows[(subject, namespace(rng, depth), rng.choice(list(roles)))] = None
    Binding.objects.bulk_create(
        [
            Binding(
                tenant_id=TENANT, role_id=role, namespace=scope,
                group_id=subject[2:] if subject[0] == "g" else None,
                user_id=subject[2:] if subject[0] == "u" else None,
            )
            for subject, scope, role in rows
        ],
        batch_size=2_000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(
        f"access: seeded {USERS:,} users, {GROUPS:,} groups, {len(rows):,} bindings in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return Policy(roles, list(rows))


def _random_permissions(rng: random.Random) -> dict[str, list[str]]:
    chosen = {}
    for resource_name in (*NAMESPACED, *TENANT_LEVEL):
        if rng.random() < 0.35:
            chosen[resource_name] = rng.sample(ACTIONS, rng.randint(1, len(ACTIONS)))
    return chosen or {"FLOWS": ["READ"]}


def _pairs(permissions: dict) -> frozenset[str]:
    return frozenset(f"{res}:{act}" for res, actions in permissions.items() for act in actions)


def random_check(rng: random.Random) -> dict:
    """One check as the decision API takes it: 4 in 5 about a namespace, up to 6 levels deep."""
    user = f"user{rng.randrange(USERS)}@access.example.com"
    if rng.random() < 0.8:
        depth = rng.randint(1, len(LEVELS) + 1)
        scope = namespace(rng, min(depth, len(LEVELS)))
        scope += ".leaf" if depth > len(LEVELS) else ""
        permission = f"{rng.choice(NAMESPACED)}:{rng.choice(ACTIONS)}"
        return {"subject": {"userName": user}, "permission": permission, "namespace": scope}
    permission = f"{rng.choice(TENANT_LEVEL)}:{rng.choice(ACTIONS)}"
    return {"subject": {"userName": user}, "permission": permission}


def decision_client(rng: random.Random) -> str:
    """A service account allowed to ask (BINDINGS:READ on the whole tenant); its raw token."""
    from kestra_iam.models import Tenant
    from kestra_iam.rbac.services import binding_create, role_create, service_account_create
    from kestra_iam.services import api_token_issue

    tenant = Tenant.objects.get(pk=TENANT)
    account = service_account_create(tenant=tenant, name="platform")
    role = role_create(tenant=tenant, name="Decision API", permissions={"BINDINGS": ["READ"]})
    binding_create(tenant=tenant, role=role, service_account=account)
    return api_token_issue(service_account=account).raw


def access_at_scale(server: Server, results: dict, notes: dict) -> None:
    rng = random.Random(19)
    policy = seed(rng)
    endpoint = Endpoint("access", server, f"/api/v1/{TENANT}/access", decision_client(rng))
    _over_http(endpoint, rng, results, notes)
    _freshness(endpoint, notes)
    _in_process(policy, rng, notes)


def _over_http(endpoint: Endpoint, rng: random.Random, results: dict, notes: dict) -> None:
    singles = [[random_check(rng)] for _ in range(4_000)]
    batches = [[random_check(rng) for _ in range(BATCH)] for _ in range(400)]
    path = endpoint.base + "/checks"

    def post(checks: list):
        return lambda w, i: ("POST", path, {"checks": checks[(w * 7919 + i) % len(checks)]})

    runs = [
        ("decision API: 1 check, c=1", singles, 1, 1_000),
        ("decision API: 1 check, c=4", singles, 4, 500),
        ("decision API: batch of 100, c=4", batches, 4, 60),
        ("decision API: batch of 100, c=8", batches, 8, 40),
    ]
    allowed, lock = [0, 0], threading.Lock()

    def count(w, i, status, body):
        if status == 200:
            answers = json.loads(body)["results"]
            with lock:
                allowed[0] += sum(answer["allowed"] for answer in answers)
                allowed[1] += len(answers)

    for label, checks, concurrency, each in runs:
        endpoint.run(label, post(checks), concurrency=2, requests_per_worker=20, content_type=JSON)
        result = endpoint.run(
            label, post(checks), concurrency=concurrency, requests_per_worker=each,
            content_type=JSON, on_response=count,
        )  # fmt: skip
        results[label] = result.summary()
        size = len(checks[0])
        notes[f"{label}: decisions/s"] = round(result.rate * size)
        notes[f"{label}: queries per decision"] = round(result.queries / size, 2)
        log(f"{label}: {results[label]}")
    notes["decision API: share of checks allowed"] = f"{100 * allowed[0] / allowed[1]:.0f} %"


def _freshness(endpoint: Endpoint, notes: dict) -> None:
    """A binding made now decides the very next request, in whichever worker answers it."""
    from kestra_iam.models import Group, Role, Tenant
    from kestra_iam.rbac.services import binding_create, binding_delete

    tenant = Tenant.objects.get(pk=TENANT)
    group = Group.objects.get(pk=group_id(0))  # user 0 is in group 0 only
    role = Role.objects.get(tenant=tenant, name="Admin")
    check = {
        "subject": {"userName": "user0@access.example.com"},
        "permission": "SECRETS:DELETE",
        "namespace": "fresh.ness",
    }
    client = load.Client(HOST, endpoint.server.port, endpoint.token, JSON)
    seen = []
    for step in ("before", "bound", "unbound"):
        if step == "bound":
            binding = binding_create(tenant=tenant, role=role, group=group, namespace="fresh")
        elif step == "unbound":
            binding_delete(binding=binding)
        for _ in range(20):  # several keep-alive requests: several workers answer
            status, body, _ = client.send("POST", endpoint.base + "/checks", {"checks": [check]})
            seen.append((step, status == 200 and json.loads(body)["results"][0]["allowed"]))
    client.close()
    stale = sum(1 for step, allowed in seen if allowed != (step == "bound"))
    notes["decision API: stale answers after a binding change (of 60)"] = stale


def _in_process(policy: Policy, rng: random.Random, notes: dict) -> None:
    from kestra_iam.models import Tenant
    from kestra_iam.permissions import Permission
    from kestra_iam.rbac.engine import Check, check_access
    from kestra_iam.rbac.policy import SubjectRef

    tenant = Tenant.objects.get(pk=TENANT)
    sample = [random_check(rng) for _ in range(2_000)]
    checks = [
        Check(
            SubjectRef("user_name", c["subject"]["userName"]),
            Permission.parse(c["permission"]),
            c.get("namespace", ""),
        )
        for c in sample
    ]
    check_access(tenant=tenant, checks=checks[:BATCH])  # warm-up
    started = time.perf_counter()
    ours = [d.allowed for i in range(0, len(checks), BATCH)
            for d in check_access(tenant=tenant, checks=checks[i : i + BATCH])]  # fmt: skip
    notes["in process: engine decisions/s, batches of 100"] = round(
        len(checks) / (time.perf_counter() - started)
    )
    started = time.perf_counter()
    for item in checks[:500]:
        check_access(tenant=tenant, checks=[item])
    notes["in process: engine decisions/s, one check at a time"] = round(
        500 / (time.perf_counter() - started)
    )
    enforcer, load_seconds, load_mb = _casbin(policy)
    notes["pycasbin: policy load (s)"] = round(load_seconds, 1)
    notes["pycasbin: memory of the loaded policy (MB, RSS growth)"] = round(load_mb)
    ids = _user_ids()
    requests = [
        (f"u:{ids[c['subject']['userName']]}", TENANT, c.get("namespace", ""), c["permission"])
        for c in sample
    ]
    enforcer.enforce(*requests[0])  # warm-up
    started, theirs = time.perf_counter(), []
    for request in requests:  # bounded by time: casbin reads every policy line per decision
        theirs.append(enforcer.enforce(*request))
        if time.perf_counter() - started > 60:
            break
    casbin_rate = len(theirs) / (time.perf_counter() - started)
    notes["pycasbin: decisions/s, one enforce at a time"] = round(casbin_rate, 1)
    notes["engine and pycasbin: decisions compared"] = len(theirs)
    notes["engine and pycasbin: decisions that differ"] = sum(
        a != b for a, b in zip(ours, theirs, strict=False)
    )
    notes["in process: engine / pycasbin decisions/s (batches of 100)"] = round(
        notes["in process: engine decisions/s, batches of 100"] / casbin_rate, 1
    )
    notes["in process: engine / pycasbin decisions/s (one check at a time)"] = round(
        notes["in process: engine decisions/s, one check at a time"] / casbin_rate, 1
    )


def _user_ids() -> dict[str, str]:
    from kestra_iam.models import User

    users = User.objects.filter(user_name__endswith="@access.example.com")
    return {name: str(pk) for pk, name in users.values_list("pk", "user_name")}


def _casbin(policy: Policy):
    """pycasbin loaded with the seeded policy, read from the database; load time and memory."""
    from django.db import connection

    from benchmarks import casbin_reference

    before = _rss_mb()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.user_id::text, m.group_id::text FROM kestra_iam_groupmembership AS m "
            "JOIN kestra_iam_tenantaccess AS a ON a.id = m.access_id WHERE a.tenant_id = %s",
            [TENANT],
        )
        memberships = [[f"u:{user}", f"g:{group}", TENANT] for user, group in cursor]
    bindings = [[who, TENANT, scope, f"role:{role}"] for who, scope, role in policy.bindings]
    permissions = [
        [f"role:{role}", pair] for role, pairs in policy.roles.items() for pair in sorted(pairs)
    ]
    enforcer = casbin_reference.enforcer(
        casbin_reference.RowsAdapter(bindings, memberships, permissions)
    )
    # pycasbin builds a domain's role graph at the first question about it: part of loading.
    enforcer.enforce("u:nobody", TENANT, "", "FLOWS:READ")
    return enforcer, time.perf_counter() - started, _rss_mb() - before


def _rss_mb() -> float:
    return memory_kb(os.getpid(), "VmRSS") / 1024
