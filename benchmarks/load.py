"""A small HTTP load generator over loopback: keep-alive connections, one thread each.

Each request is a callable returning (method, path, body); the generator records status,
latency and the server's X-Query-Count. Bounded in count and in time.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Request = tuple[str, str, object]


@dataclass
class Sample:
    status: int
    seconds: float
    queries: int


@dataclass
class Result:
    name: str
    samples: list[Sample] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float | None = None  # CPU seconds the server's processes spent meanwhile

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.samples:
            return 0.0
        ordered = sorted(s.seconds for s in self.samples)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index] * 1000

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.status >= 400 or s.status == 0)

    @property
    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for sample in self.samples:
            counts[sample.status] = counts.get(sample.status, 0) + 1
        return counts

    @property
    def queries(self) -> float:
        return statistics.mean(s.queries for s in self.samples) if self.samples else 0.0

    def summary(self) -> dict:
        return {
            "requests": self.count,
            "rps": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "errors": self.errors,
            "queries": round(self.queries, 1),
            # Server CPU per request: steadier than rates on a shared machine.
            "cpu_ms": round(1000 * self.server_cpu / self.count, 2)
            if self.server_cpu is not None and self.count
            else None,
        }


SCIM_JSON = "application/scim+json; charset=utf-8"


class Client:
    """One keep-alive connection with Entra-like headers (token, JSON body, nothing else)."""

    def __init__(self, host: str, port: int, token: str, content_type: str = SCIM_JSON) -> None:
        self.host, self.port, self.token = host, port, token
        self.content_type = content_type
        self.connection: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: object = None) -> tuple[int, bytes, int]:
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            headers = {"Authorization": f"Bearer {self.token}"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = self.content_type
            try:
                self.connection.request(method, path, payload, headers)
                response = self.connection.getresponse()
                data = response.read()
                return response.status, data, int(response.getheader("X-Query-Count") or 0)
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt:
                    return 0, b"", 0
        return 0, b"", 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def run(
    name: str,
    host: str,
    port: int,
    token_for: Callable[[int], str],
    make_request: Callable[[int, int], Request],
    *,
    concurrency: int,
    requests_per_worker: int | None = None,
    duration: float | None = None,
    rate_per_worker: float | None = None,
    on_response: Callable[[int, int, int, bytes], None] | None = None,
    content_type: str = SCIM_JSON,
) -> Result:
    """Run `concurrency` workers; worker w sends make_request(w, i) for i = 0, 1, …

    Stops after `requests_per_worker` requests or `duration` seconds, whichever comes first.
    With `rate_per_worker`, each worker paces itself (an open-loop client). `on_response`
    sees (worker, index, status, body) of every answer, e.g. to remember created ids.
    """
    result = Result(name)
    lock = threading.Lock()
    deadline = time.perf_counter() + duration if duration else None
    failures: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            work(w)
        except BaseException as exc:  # a broken scenario must fail the run, not vanish
            failures.append(exc)

    def work(w: int) -> None:
        client = Client(host, port, token_for(w), content_type)
        samples = []
        start = time.perf_counter()
        i = 0
        while True:
            if requests_per_worker is not None and i >= requests_per_worker:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
            if rate_per_worker:
                wait = start + i / rate_per_worker - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            method, path, body = make_request(w, i)
            began = time.perf_counter()
            status, data, queries = client.send(method, path, body)
            samples.append(Sample(status, time.perf_counter() - began, queries))
            if on_response is not None:
                on_response(w, i, status, data)
            i += 1
        client.close()
        with lock:
            result.samples.extend(samples)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=(duration or 600) + 120)
    result.elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"scenario {name!r} failed in a worker") from failures[0]
    return result
