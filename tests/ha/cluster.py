"""A Patroni cluster on loopback, from the shipped configuration (`deploy/ha/`): three etcd
members, three PostgreSQL nodes each run by its own Patroni, and HAProxy in front, all real
processes from Debian's packages. Addresses, ports and directories are the only things changed.

Patroni and PostgreSQL run as the `postgres` user when the suite runs as root (PostgreSQL
refuses root), in a directory of their own under the system's temporary directory.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.processes import ROOT, free_port

SHIPPED = ROOT / "deploy" / "ha"
SEARCH_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
TOOLS = {name: shutil.which(name, path=SEARCH_PATH) for name in ("patroni", "etcd", "haproxy")}
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def missing_tools() -> list[str]:
    missing = [name for name, path in TOOLS.items() if path is None]
    if not (PG_BIN / "postgres").exists():
        missing.append(str(PG_BIN / "postgres"))
    return missing


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _spawn(command: list[str], log: Path) -> subprocess.Popen:
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={"PATH": SEARCH_PATH, "LANG": "C.UTF-8", "HOME": str(log.parent)},
        )


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, wait: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


@dataclass
class Node:
    name: str
    directory: Path
    pg_port: int = field(default_factory=free_port)
    rest_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.directory / "patroni.log"

    def rest(self, path: str, *, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
        """(status, JSON body or {}) from Patroni's REST API; status 0 if it does not answer."""
        data = json.dumps(body).encode() if body is not None else None
        connection = http.client.HTTPConnection("127.0.0.1", self.rest_port, timeout=3)
        try:
            connection.request(
                method, path, body=data, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            text = response.read().decode()
            return response.status, json.loads(text) if text.startswith("{") else {}
        except OSError:
            return 0, {}
        finally:
            connection.close()

    def postmaster(self) -> int | None:
        """The PostgreSQL server's pid, from its data directory."""
        try:
            pid = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
            alive = b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive else None  # not a stale file naming a reused pid

    def pids(self) -> list[int]:
        """Patroni, the PostgreSQL server and every process below either. Patroni starts the
        server through a helper that exits, so the server is not in Patroni's process tree."""
        parents: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(parent, []).append(int(entry.name))
        roots = [self.process.pid, self.postmaster()]
        found, queue = [], [pid for pid in roots if pid and Path(f"/proc/{pid}").exists()]
        while queue:
            pid = queue.pop()
            found.append(pid)
            queue.extend(parents.get(pid, []))
        return found


class Cluster:
    """`Cluster().start()`; `url` is the app's DATABASE_URL (through HAProxy)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="kestra-iam-ha-"))
        self.directory.chmod(0o755)
        self.password = secrets.token_urlsafe(16)
        self.etcd = [
            {"name": f"etcd{i}", "client": free_port(), "peer": free_port(), "process": None}
            for i in (1, 2, 3)
        ]
        self.nodes = [Node(f"pg{i}", self.directory / f"pg{i}") for i in (1, 2, 3)]
        self.haproxy_port = free_port()
        self.haproxy: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres:{self.password}@127.0.0.1:{self.haproxy_port}/kestra_iam"

    @property
    def multi_host_url(self) -> str:
        """The nodes themselves, libpq choosing the one that accepts writes (no HAProxy)."""
        hosts = ",".join("127.0.0.1" for _ in self.nodes)
        ports = ",".join(str(node.pg_port) for node in self.nodes)
        return (
            f"postgres://postgres:{self.password}@/kestra_iam?host={hosts}&port={ports}"
            "&target_session_attrs=read-write"
        )

    # --- set-up --------------------------------------------------------------------------

    def start(self) -> Cluster:
        try:
            self._start_etcd()
            for node in self.nodes:
                self._write_patroni_config(node)
            self.start_node(self.nodes[0])
            self.wait_for(lambda: self.leader() is self.nodes[0], 90, "pg1 to bootstrap")
            for node in self.nodes[1:]:
                self.start_node(node)
            self._start_haproxy()
            self.wait_healthy(timeout=120)
            subprocess.run(
                [
                    str(PG_BIN / "psql"),
                    "-q",
                    "-d",
                    self.url.rsplit("/", 1)[0] + "/postgres",
                    "-c",
                    "CREATE DATABASE kestra_iam",
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def _start_etcd(self) -> None:
        shipped = yaml.safe_load((SHIPPED / "etcd.yml").read_text())
        initial = ",".join(f"{m['name']}=http://127.0.0.1:{m['peer']}" for m in self.etcd)
        for member in self.etcd:
            directory = self.directory / member["name"]
            directory.mkdir()
            config = {
                **shipped,
                "name": member["name"],
                "data-dir": str(directory / "data"),
                "listen-client-urls": f"http://127.0.0.1:{member['client']}",
                "advertise-client-urls": f"http://127.0.0.1:{member['client']}",
                "listen-peer-urls": f"http://127.0.0.1:{member['peer']}",
                "initial-advertise-peer-urls": f"http://127.0.0.1:{member['peer']}",
                "initial-cluster": initial,
            }
            path = directory / "etcd.yml"
            path.write_text(yaml.safe_dump(config))
            member["process"] = _spawn(
                [TOOLS["etcd"], "--config-file", str(path)], directory / "etcd.log"
            )

    def _write_patroni_config(self, node: Node) -> None:
        config = yaml.safe_load((SHIPPED / "patroni.yml").read_text())
        node.directory.mkdir()
        config["name"] = node.name
        config["restapi"] = {
            "listen": f"127.0.0.1:{node.rest_port}",
            "connect_address": f"127.0.0.1:{node.rest_port}",
        }
        config["etcd3"]["hosts"] = ",".join(f"127.0.0.1:{m['client']}" for m in self.etcd)
        config["bootstrap"]["pg_hba"] = [
            rule.replace("10.0.0.0/24", "127.0.0.1/32")
            for rule in config["bootstrap"]["pg_hba"]
            if "127.0.0.1/32" not in rule
        ]
        postgresql = config["postgresql"]
        postgresql["listen"] = f"127.0.0.1:{node.pg_port}"
        postgresql["connect_address"] = f"127.0.0.1:{node.pg_port}"
        postgresql["data_dir"] = str(node.directory / "data")
        postgresql["bin_dir"] = str(PG_BIN)
        postgresql["pgpass"] = str(node.directory / "pgpass")
        postgresql["parameters"]["unix_socket_directories"] = str(node.directory)
        for role in postgresql["authentication"].values():
            role["password"] = self.password
        (node.directory / "patroni.yml").write_text(yaml.safe_dump(config))
        if os.geteuid() == 0:
            shutil.chown(node.directory, "postgres", "postgres")
            shutil.chown(node.directory / "patroni.yml", "postgres", "postgres")

    def _start_haproxy(self) -> None:
        config = (SHIPPED / "haproxy.cfg").read_text()
        config = re.sub(
            r"^(\s*bind) :5000$", rf"\1 127.0.0.1:{self.haproxy_port}", config, flags=re.M
        )
        for node in self.nodes:
            config, count = re.subn(
                rf"(server {node.name}) \S+:5432 (.*) check port 8008",
                rf"\1 127.0.0.1:{node.pg_port} \2 check port {node.rest_port}",
                config,
            )
            assert count == 1, "deploy/ha/haproxy.cfg changed shape"
        assert str(self.haproxy_port) in config, "deploy/ha/haproxy.cfg changed shape"
        path = self.directory / "haproxy.cfg"
        path.write_text(config)
        self.haproxy = _spawn(
            [TOOLS["haproxy"], "-db", "-f", str(path)], self.directory / "haproxy.log"
        )

    def start_node(self, node: Node) -> None:
        node.process = _spawn(
            [*_as_postgres(), TOOLS["patroni"], str(node.directory / "patroni.yml")], node.log
        )

    # --- state ---------------------------------------------------------------------------

    def members(self) -> list[dict]:
        """Patroni's view of the cluster, from the first node that answers."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            status, body = node.rest("/cluster")
            if status == 200:
                return body.get("members", [])
        return []

    def leader(self) -> Node | None:
        for member in self.members():
            if member.get("role") == "leader" and member.get("state") == "running":
                return self.node(member["name"])
        return None

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def sync_standby(self) -> Node | None:
        for member in self.members():
            streaming = member.get("state") in ("running", "streaming")
            if member.get("role") == "sync_standby" and streaming:
                return self.node(member["name"])
        return None

    def healthy(self) -> bool:
        """A leader, a synchronous standby and a replica, both standbys on the leader's
        timeline and caught up (Patroni reports a standby that is merely started as running)."""
        members = self.members()
        roles = sorted(member.get("role", "") for member in members)
        if roles != ["leader", "replica", "sync_standby"]:
            return False
        leader = next(m for m in members if m["role"] == "leader")
        for member in members:
            if member.get("state") not in ("running", "streaming"):
                return False
            if member.get("timeline") != leader.get("timeline"):
                return False
            lag = member.get("lag", 0)
            if member is not leader and not (isinstance(lag, int) and lag < 16 * 1024 * 1024):
                return False
        return True

    def wait_healthy(self, timeout: float = 120) -> None:
        """Back to a leader, a synchronous standby and a replica. A standby that does not get
        there within a minute (after a frozen primary is thawed, seen twice in CI: one standby
        diverged, or none chosen as synchronous) is copied afresh from the leader, which is
        what an operator does (`patronictl reinit`): the experiments measure losing a primary,
        not Patroni's recovery of a standby."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.healthy():
                return
            time.sleep(0.5)
        leader = self.leader()
        for node in self.nodes:
            if node is not leader and node.process is not None and node.process.poll() is None:
                node.rest("/reinitialize", method="POST", body={"force": True})
        self.wait_for(self.healthy, timeout, "a leader, a synchronous standby and a replica")

    def wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}: {self.members()}\n{self.logs()}")

    def logs(self, lines: int = 40) -> str:
        parts = []
        for node in self.nodes:
            text = node.log.read_text(errors="replace") if node.log.exists() else ""
            parts.append(f"--- {node.name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    # --- experiments ---------------------------------------------------------------------

    def kill(self, node: Node) -> None:
        """The host dies: Patroni and PostgreSQL together, with no chance to clean up."""
        for pid in node.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        node.process.wait(timeout=10)

    def freeze(self, node: Node) -> None:
        """The host stops answering (SIGSTOP) rather than dying: connections stay open."""
        for pid in node.pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self, node: Node) -> None:
        for pid in node.pids():
            os.kill(pid, signal.SIGCONT)

    def switchover(self) -> Node:
        """A planned switchover to the synchronous standby; the new primary."""
        leader, candidate = self.leader(), self.sync_standby()
        status, _ = leader.rest(
            "/switchover",
            method="POST",
            body={"leader": leader.name, "candidate": candidate.name},
        )
        assert status == 200, f"switchover refused: {status}"
        return candidate

    def stop(self) -> None:
        _stop(self.haproxy)
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                self.thaw(node)
                _stop(node.process)
            if node.process is not None:  # a server Patroni did not stop (it was killed)
                for pid in node.pids():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        for member in self.etcd:
            _stop(member["process"])
        shutil.rmtree(self.directory, ignore_errors=True)
