"""Real processes for the tests: gunicorn with the production configuration, on free ports, with
the environment a deployment would give it. Output goes to a file (a pipe that nobody reads
would fill up and stall the server)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
# Settings a test server must not inherit from the shell that runs the suite.
OWN_PREFIXES = (
    "DJANGO_", "SCIM_", "CACHE_", "GUNICORN_", "KESTRA_", "METRICS", "LOG_FORMAT", "PROMETHEUS_",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(tmp_path: Path, **overrides) -> dict:
    """A production-like environment: a real secret key, DEBUG off, a SQLite file of its own
    (unless DATABASE_URL is given)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}
    env.update(
        {
            "DJANGO_SECRET_KEY": "x" * 50,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
            **overrides,
        }
    )
    return env


def suite_database_url() -> str:
    """The URL of the suite's own (PostgreSQL) test database, for servers that must share it:
    through PgBouncer when the suite runs through it."""
    from django.db import connection

    settings = connection.settings_dict
    password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{quote(settings['USER'])}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def manage(env: dict, *arguments: str) -> str:
    """Run a manage.py command in that environment; its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def integration_on_fresh_database(env: dict) -> tuple[str, str]:
    """Migrate the server's database and create tenant `main` with an integration:
    (SCIM base path, Secret Token)."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "tenant", "create", "main", "--name", "Main")
    created = json.loads(
        manage(env, "integration", "create", "--tenant", "main", "--name", "Entra", "--json")
    )
    return f"/api/v1/main/integrations/{created['id']}/scim/v2", created["token"]


@dataclass
class Gunicorn:
    """`gunicorn -c kestra_iam/gunicorn_conf.py kestra_iam.wsgi`, as the README runs it."""

    env: dict
    log_path: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60) -> Gunicorn:
        env = {**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        env["GUNICORN_WORKERS"] = str(self.workers)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "kestra_iam/gunicorn_conf.py",
                 "kestra_iam.wsgi"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.output()}")
            if self.get("/healthz")[0] == 200:
                return self
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"gunicorn did not answer /healthz:\n{self.output()}")

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
        timeout: float = 10,
    ) -> tuple[int, bytes]:  # fmt: skip
        """(status, body); status 0 when the server cannot be reached."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        except OSError:
            return 0, b""
        finally:
            connection.close()

    def get(self, path: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, bytes]:
        return self.request("GET", path, headers=headers, timeout=timeout)

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> int:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode if self.process else 0

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class AdminSession:
    """A signed-in administrator of one server, posting the admin's forms over HTTP."""

    def __init__(self, server: Gunicorn, user_name: str, password: str) -> None:
        self.server = server
        self.cookies: dict[str, str] = {}
        self.request("GET", "/admin/login/")
        status, _ = self.post("/admin/login/", {"username": user_name, "password": password})
        assert status == 302 and "sessionid" in self.cookies, "admin login failed"

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.cookies["csrftoken"]}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            self.location = response.getheader("Location")  # where a redirect leads
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.read().decode()
        finally:
            connection.close()

    def post(self, path: str, form: dict) -> tuple[int, str]:
        return self.request("POST", path, form)
