"""How the service is started in production: gunicorn's guard on the rate limit, and the
security settings `check --deploy` asks for. Real processes, no mocks."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(tmp_path, **overrides) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SCIM_", "CACHE_", "GUNICORN_", "KESTRA_"))
    }
    env.update(
        {
            "DJANGO_SECRET_KEY": "x" * 50,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
            **overrides,
        }
    )
    return env


def start_gunicorn(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "kestra_iam/gunicorn_conf.py", "kestra_iam.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answers(port: int, deadline: float) -> bool:
    """Whether the server answers HTTP (any status: a SCIM path without a token is a 401)."""
    url = f"http://127.0.0.1:{port}/api/v1/main/integrations/x/scim/v2/Users"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.2)
    return False


def test_several_workers_with_a_per_process_rate_limit_refuse_to_start(tmp_path):
    port = free_port()
    server = start_gunicorn(
        server_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="3")
    )
    try:
        _, stderr = server.communicate(timeout=30)
    finally:
        server.kill()
    assert server.returncode == 2
    assert "Configuration error" in stderr and "each of the 3 workers" in stderr
    assert "CACHE_URL=redis://" in stderr


@pytest.mark.parametrize(
    "overrides",
    [
        {"GUNICORN_WORKERS": "2", "CACHE_URL": "redis://127.0.0.1:6379/15"},
        {"GUNICORN_WORKERS": "1"},
        {"GUNICORN_WORKERS": "2", "SCIM_RATE_LIMIT": "0"},
    ],
    ids=["shared-cache", "one-worker", "no-limit"],
)
def test_workers_that_share_the_limit_or_have_none_start(tmp_path, overrides):
    port = free_port()
    env = server_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", **overrides)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    server = start_gunicorn(env)
    try:
        assert answers(port, time.monotonic() + 30), server.stderr.read() if server.poll() else ""
    finally:
        server.terminate()
        server.wait(timeout=30)


def deploy_check(tmp_path, **overrides) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=server_env(tmp_path, **overrides),
        capture_output=True,
        text=True,
    )
    return result.stdout + result.stderr


def test_production_settings_satisfy_check_deploy(tmp_path):
    default = deploy_check(tmp_path)
    assert "security.W004" in default and "security.W008" in default  # HSTS, SSL redirect
    production = deploy_check(
        tmp_path,
        DJANGO_SECRET_KEY="a-long-and-random-secret-key-" + "k7Qz" * 12,
        DJANGO_SECURE_SSL_REDIRECT="true",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
    )
    assert "System check identified no issues" in production, production
