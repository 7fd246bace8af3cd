"""The processes a benchmark measures: databases, gunicorn servers, and where CPU and memory go."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
CORES = os.cpu_count() or 1
WORKERS = 2 * CORES + 1


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def recreate_database(url: str) -> None:
    """Drop and create the database of a postgres:// URL (a brand-new, never-analysed one)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = f"postgresql://{parts.netloc}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def sibling_url(url: str, suffix: str) -> str:
    """The URL of another database on the same server (`…/kestra_iam_bench` → `…_peer`)."""
    parts = urlsplit(url)
    return parts._replace(path=parts.path + suffix).geturl()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn serving one WSGI application with the production configuration."""

    name: str
    wsgi: str
    env: dict
    config: str = "kestra_iam/gunicorn_conf.py"
    port: int = 0
    process: subprocess.Popen | None = None
    quiet: bool = False  # send the server's own output to /dev/null (JSON request logs)

    def start(self) -> Server:
        self.port = free_port()
        command = [
            sys.executable, "-m", "gunicorn", "-c", self.config,
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS),
            "--access-logfile", "/dev/null", self.wsgi,
        ]  # fmt: skip
        output = subprocess.DEVNULL if self.quiet else None
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, start_new_session=True, stdout=output, stderr=output
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"{self.name}: gunicorn did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def pids(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return (
            [pid, *(int(p) for p in children.read_text().split())] if children.exists() else [pid]
        )

    def worker_rss(self) -> dict[int, int]:
        return {pid: memory_kb(pid, "VmRSS") for pid in self.pids()[1:]}

    def peak_rss_mb(self) -> float:
        return round(max(memory_kb(pid, "VmHWM") for pid in self.pids()) / 1024, 1)


def memory_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def rss_growth_mb(before: dict[int, int], after: dict[int, int]) -> float:
    """The largest growth of any worker between two `Server.worker_rss` samples."""
    return round(max(after.get(pid, 0) - rss for pid, rss in before.items()) / 1024, 1)


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

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self):
        self.began = time.perf_counter()
        self.start = self._sample()
        return self

    def _sample(self) -> tuple[float, float, float]:
        times = os.times()
        return (times.user + times.system, cpu_seconds(self.server.pids()), busy_seconds())

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self.began
        used = [after - before for before, after in zip(self.start, self._sample(), strict=True)]
        generator, app, busy = used
        self.split = {
            "load generator": round(100 * generator / wall),
            "gunicorn": round(100 * app / wall),
            "postgresql and system": round(100 * (busy - generator - app) / wall),
            "idle": round(100 * (CORES * wall - busy) / wall),
        }
