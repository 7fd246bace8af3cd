"""Slow clients cannot hold the workers: what `deploy/haproxy.cfg` is for, through real processes.

A gunicorn sync worker waits, without a deadline, for the request it is reading, so a client
that sends a header byte every second holds it. Shown first against gunicorn alone (one worker:
one such client is enough), then through HAProxy running the shipped configuration: several
slow clients, one trickling a body, and every other request is still answered at once; the
slow ones get a 408 when `timeout http-request` runs out.
"""

import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from tests.processes import ROOT, Gunicorn, free_port, manage, server_env

HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:/sbin:/bin")
SHIPPED = ROOT / "deploy" / "haproxy.cfg"
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="needs haproxy (apt-get install haproxy)")


class SlowClient(threading.Thread):
    """Sends a request one byte a second (the head, or a body it announced), until closed."""

    def __init__(self, port: int, *, body: bool = False) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        if body:
            self.sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        else:
            self.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        self.answer = b""
        self.closed_after: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        self.sock.settimeout(1)
        while not self.stop.is_set():
            try:
                self.sock.sendall(b"x")
                data = self.sock.recv(4096)
                if not data:
                    break
                self.answer += data
                break
            except TimeoutError:
                continue
            except OSError:
                break
        self.closed_after = time.monotonic() - started
        self.sock.close()


def answered_within(port: int, seconds: float) -> int:
    """The status of a plain GET /healthz, or 0 if none came within `seconds`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = sock.recv(64)
        return int(head.split()[1])
    except (OSError, IndexError, ValueError):
        return 0


@pytest.fixture
def gunicorn(tmp_path):
    (tmp_path / "static").mkdir()
    env = server_env(tmp_path)
    manage(env, "migrate", "--noinput", "-v0")
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=1).start()
    yield server
    server.stop()


@pytest.fixture
def haproxy(tmp_path, gunicorn):
    port = free_port()
    config = SHIPPED.read_text()
    config = re.sub(r"^(\s*bind) :8080$", rf"\1 127.0.0.1:{port}", config, flags=re.M)
    config = re.sub(r"(server app1) 127\.0\.0\.1:8000", rf"\1 127.0.0.1:{gunicorn.port}", config)
    assert str(port) in config and str(gunicorn.port) in config, "the shipped file changed shape"
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    log = tmp_path / "haproxy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(path)], stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 15
    while answered_within(port, 1) != 200:
        running = process.poll() is None and time.monotonic() < deadline
        assert running, f"haproxy did not start:\n{log.read_text(errors='replace')}"
        time.sleep(0.2)
    yield port
    process.terminate()
    process.wait(timeout=10)


def test_one_slow_client_holds_a_worker_without_a_proxy(gunicorn):
    slow = SlowClient(gunicorn.port)
    slow.start()
    try:
        time.sleep(0.5)
        assert answered_within(gunicorn.port, 3) == 0  # the only worker is reading the slow one
    finally:
        slow.stop.set()
        slow.join(timeout=5)
    assert answered_within(gunicorn.port, 10) == 200


def test_through_haproxy_slow_clients_hold_nothing_and_are_cut_off(haproxy):
    slow = [SlowClient(haproxy) for _ in range(3)] + [SlowClient(haproxy, body=True)]
    for client in slow:
        client.start()
    try:
        time.sleep(1)
        for _ in range(5):
            started = time.monotonic()
            assert answered_within(haproxy, 3) == 200
            assert time.monotonic() - started < 1
        for client in slow:
            client.join(timeout=20)  # timeout http-request is 10 s in the shipped file
        for client in slow:
            assert client.closed_after is not None and client.closed_after < 15
            assert client.answer.startswith(b"HTTP/1.1 408"), client.answer[:80]
    finally:
        for client in slow:
            client.stop.set()
