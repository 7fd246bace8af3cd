"""Entra-shaped writes against a server while the database under it fails, and what must hold
afterwards (`tests/ha/test_failover.py`): clients that create users and add them to groups as
fast as they are answered, the gap they saw, and the check from the new primary that every
acknowledged write is there once and whole after Entra's retries."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass

import psycopg
import yaml

from tests.ha.cluster import SHIPPED, Cluster
from tests.processes import Gunicorn

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DCS = yaml.safe_load((SHIPPED / "patroni.yml").read_text())["bootstrap"]["dcs"]
# Writes are back within the leader key's life and one Patroni loop, plus HAProxy's checks
# (two 1 s checks), the app's connect timeout and the clients' own pace.
RESUME_WITHIN = DCS["ttl"] + DCS["loop_wait"] + 15
WORKER_TIMEOUT = 30  # GUNICORN_TIMEOUT's default: no answer may take longer


@dataclass
class App:
    server: Gunicorn
    base: str
    token: str
    groups: list[str]

    def call(self, method: str, path: str, body: dict | None = None, *, request_id: str = ""):
        """(status, headers, json body or None, seconds taken); status 0 if no answer came."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/scim+json",
            "X-Request-ID": request_id,
        }
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        started = time.monotonic()
        try:
            connection.request(
                method,
                self.base + path,
                body=json.dumps(body).encode() if body else None,
                headers=headers,
            )
            response = connection.getresponse()
            raw = response.read()
            parsed = json.loads(raw) if raw else None
            return response.status, dict(response.getheaders()), parsed, time.monotonic() - started
        except OSError:
            return 0, {}, None, time.monotonic() - started
        finally:
            connection.close()


@dataclass
class Answer:
    kind: str  # "create" or "add"
    user_name: str
    request_id: str
    status: int
    retry_after: str | None
    started: float
    seconds: float
    user_id: str = ""
    group_id: str = ""


class EntraLoad:
    """Clients that create a user, then add it to a group, again and again, as fast as answered."""

    def __init__(self, app: App, *, clients: int = 4, prefix: str) -> None:
        self.app, self.prefix = app, prefix
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(clients)
        ]

    def __enter__(self) -> EntraLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=WORKER_TIMEOUT * 2)

    def run(self, client: int) -> None:
        n = 0
        while not self.stopping.is_set():
            n += 1
            user_name = f"{self.prefix}-{client}-{n}@contoso.com"
            created = self.send("create", user_name, "POST", "/Users", entra_user(user_name))
            if created.status == 503:
                time.sleep(0.5)  # Entra waits (Retry-After) before its next request
            if created.status == 201:
                group = self.app.groups[n % len(self.app.groups)]
                self.send(
                    "add",
                    user_name,
                    "PATCH",
                    f"/Groups/{group}",
                    member_add(created.user_id),
                    user_id=created.user_id,
                    group_id=group,
                )

    def send(self, kind, user_name, method, path, body, **ids) -> Answer:
        request_id = uuid.uuid4().hex
        started = time.monotonic()
        status, headers, parsed, seconds = self.app.call(method, path, body, request_id=request_id)
        if kind == "create" and status == 201:
            ids["user_id"] = parsed["id"]
        answer = Answer(
            kind, user_name, request_id, status, headers.get("Retry-After"), started, seconds, **ids
        )
        with self.lock:
            self.answers.append(answer)
        return answer

    def failures(self) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.status not in (201, 204)]

    def successes_since(self, moment: float) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a.status in (201, 204) and a.started > moment)


def entra_user(user_name: str) -> dict:
    return {
        "schemas": [USER],
        "externalId": str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "displayName": user_name.split("@")[0],
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
    }


def member_add(user_id: str) -> dict:
    return {
        "schemas": [PATCH],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": user_id}]}],
    }


@dataclass
class Outcome:
    answers: list[Answer]
    gap: float  # seconds without a successful write, from the last success before the first
    #             failure to the first success after the last one (0 if nothing failed)


def under_load(app: App, cluster: Cluster, prefix: str, experiment) -> Outcome:
    """Run the experiment four seconds into the load; stop once writes have flowed again for
    a while after the last failure."""
    with EntraLoad(app, prefix=prefix) as load:
        time.sleep(4)
        assert load.successes_since(0) > 20 and not load.failures(), "the load did not start"
        began = time.monotonic()
        experiment()
        deadline = began + RESUME_WITHIN + 30
        while time.monotonic() < deadline:
            failures = load.failures()
            last_failure = max((a.started + a.seconds for a in failures), default=began)
            settled = time.monotonic() - last_failure > 5 and time.monotonic() - began > 8
            if settled and load.successes_since(last_failure) >= 20:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"writes did not resume: {len(load.failures())} failures")
    answers = sorted(load.answers, key=lambda a: a.started)
    failed = [a for a in answers if a.status not in (201, 204)]
    if not failed:
        return Outcome(answers, 0.0)
    first, last = failed[0].started, max(a.started + a.seconds for a in failed)
    before = max(
        (
            a.started + a.seconds
            for a in answers
            if a.status in (201, 204) and a.started + a.seconds <= first
        ),
        default=first,
    )
    after = min(
        a.started + a.seconds for a in answers if a.status in (201, 204) and a.started > last
    )
    return Outcome(answers, after - before)


def assert_gap_answers(outcome: Outcome) -> None:
    """Every answer is a success or a 503 with Retry-After, none slower than the worker timeout
    (status 0 would be a worker killed by it, or no answer at all)."""
    for answer in outcome.answers:
        assert answer.status in (201, 204, 503), answer
        if answer.status == 503:
            assert answer.retry_after and int(answer.retry_after) > 0, answer
        assert answer.seconds < WORKER_TIMEOUT, answer


def assert_converged(app: App, cluster: Cluster, outcome: Outcome) -> dict[str, int]:
    """Entra retries each 503; afterwards the new primary holds each acknowledged write exactly
    once, whole, and each retried one once. Returns what was counted."""
    retried = {"created on retry": 0, "found on retry": 0, "member adds retried": 0}
    for answer in outcome.answers:
        if answer.status != 503:
            continue
        if answer.kind == "create":
            # Entra's retry: it looks the user up first, then creates it if it is not there.
            status, _, found, _ = app.call("GET", f'/Users?filter=userName+eq+"{answer.user_name}"')
            assert status == 200, found
            if found["totalResults"] == 1:
                retried["found on retry"] += 1  # the 503'd write had committed
            else:
                status, _, body, _ = app.call("POST", "/Users", entra_user(answer.user_name))
                assert status == 201, body
                retried["created on retry"] += 1
        else:
            status, _, body, _ = app.call(
                "PATCH", f"/Groups/{answer.group_id}", member_add(answer.user_id)
            )
            assert status == 204, body
            retried["member adds retried"] += 1

    names = {a.user_name for a in outcome.answers if a.kind == "create"}
    acknowledged = [a for a in outcome.answers if a.status in (201, 204)]
    with psycopg.connect(cluster.url, connect_timeout=5) as db:
        rows = db.execute(
            """
            SELECT u.user_name, count(DISTINCT u.id), count(DISTINCT a.id),
                   count(DISTINCT e.id) FILTER (WHERE e.action = 'scim.users.create')
            FROM kestra_iam_user u
            LEFT JOIN kestra_iam_tenantaccess a ON a.user_id = u.id AND a.tenant_id = 'main'
            LEFT JOIN kestra_iam_auditevent e ON e.resource_id = u.id::text
            WHERE u.user_name = ANY(%s) GROUP BY u.user_name
            """,
            [sorted(names)],
        ).fetchall()
        per_name = {name: (users, accesses, events) for name, users, accesses, events in rows}
        events = dict(
            db.execute(
                "SELECT request_id, count(*) FROM kestra_iam_auditevent WHERE request_id = ANY(%s)"
                " GROUP BY request_id",
                [[a.request_id for a in acknowledged]],
            ).fetchall()
        )
        members = set(
            db.execute(
                "SELECT m.group_id::text, a.user_id::text FROM kestra_iam_groupmembership m"
                " JOIN kestra_iam_tenantaccess a ON a.id = m.access_id"
                " WHERE m.group_id::text = ANY(%s)",
                [app.groups],
            ).fetchall()
        )
    # Every user named in the load exists once, with its access and one creation event —
    # the acknowledged ones, and the 503'd ones after Entra's retry.
    assert per_name.keys() == names, sorted(names - per_name.keys())[:5]
    whole = {name: counts for name, counts in per_name.items() if counts != (1, 1, 1)}
    assert not whole, list(whole.items())[:5]
    for answer in acknowledged:
        assert events.get(answer.request_id) == 1, answer  # its own event, exactly once
        if answer.kind == "add":
            assert (answer.group_id, answer.user_id) in members, answer
    for answer in outcome.answers:
        if answer.kind == "add" and answer.status == 503:
            assert (answer.group_id, answer.user_id) in members, answer
    return retried


def report(name: str, outcome: Outcome, retried: dict[str, int]) -> None:
    failed = sum(1 for a in outcome.answers if a.status == 503)
    print(
        f"\n{name}: {len(outcome.answers)} writes, {failed} answered 503, "
        f"writes resumed after {outcome.gap:.1f} s; {retried}"
    )
