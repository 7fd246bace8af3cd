"""How the service is started in production: gunicorn's guard on the rate limit, and the
security settings `check --deploy` asks for. Real processes, no mocks."""

import subprocess
import sys

import pytest

from tests.processes import ROOT, Gunicorn, manage, server_env


def test_several_workers_with_a_per_process_rate_limit_refuse_to_start(tmp_path):
    server = Gunicorn(server_env(tmp_path), tmp_path / "gunicorn.log", workers=3)
    with pytest.raises(AssertionError, match="gunicorn exited"):
        server.start(timeout=30)
    assert server.process.returncode == 2
    output = server.output()
    assert "Configuration error" in output and "each of the 3 workers" in output
    assert "CACHE_URL=redis://" in output


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
    env = server_env(tmp_path, **overrides)
    manage(env, "migrate", "--noinput", "-v0")
    server = Gunicorn(env, tmp_path / "gunicorn.log", workers=int(overrides["GUNICORN_WORKERS"]))
    try:
        server.start(timeout=30)
    finally:
        assert server.stop() == 0


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
