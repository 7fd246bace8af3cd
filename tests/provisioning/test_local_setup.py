"""`make run`'s local set-up, through real processes: the commands that `setup_demo` prints work
as printed, against the running server, with the same keys (var/local.env)."""

import http.client
import os
import re
import shlex
import subprocess
import sys
import time
from urllib.parse import urlsplit

from tests.processes import ROOT, free_port, manage, server_env


def local_env(tmp_path) -> dict:
    """What a shell in the checkout has: no DJANGO_SECRET_KEY, so manage.py reads the file."""
    env = server_env(tmp_path, KESTRA_LOCAL_ENV=str(tmp_path / "local.env"))
    env.pop("DJANGO_SECRET_KEY")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def status(url: str, token: str) -> int:
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request("GET", address.path, headers={"Authorization": f"Bearer {token}"})
        return connection.getresponse().status
    except OSError:  # not listening yet
        return 0
    finally:
        connection.close()


def as_printed(command: str) -> list[str]:
    """A printed `.venv/bin/python manage.py …` line, run with this interpreter."""
    words = command.split()
    assert words[:2] == [".venv/bin/python", "manage.py"], command
    return [sys.executable, "manage.py", *words[2:]]


def test_printed_commands_work_against_the_running_server(tmp_path):
    env = local_env(tmp_path)
    port = free_port()
    subprocess.run(
        [sys.executable, "-m", "kestra_iam.local_env", "--url", f"http://127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    saved = (tmp_path / "local.env").read_text()
    assert "DJANGO_SECRET_KEY=" in saved and "KESTRA_TOKEN_PEPPERS=" in saved
    assert oct(os.stat(tmp_path / "local.env").st_mode & 0o777) == "0o600"

    manage(env, "migrate", "--noinput", "-v0")
    printed = manage(env, "setup_demo")
    assert f"Log in at http://127.0.0.1:{port}/admin/" in printed
    endpoint = re.search(r"Endpoint \(Tenant URL\): (\S+)", printed).group(1)
    token = re.search(r"Secret Token: +(\S+)", printed).group(1)
    # Each command is printed on a line of its own, to be copied whole.
    rotate = re.search(
        r"^ +(\.venv/bin/python manage\.py integration rotate-token \S+)$", printed, re.M
    )
    change_password = re.search(
        r"^ +(\.venv/bin/python manage\.py changepassword admin)$", printed, re.M
    )
    assert endpoint.startswith(f"http://127.0.0.1:{port}/api/v1/main/")

    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while status(f"http://127.0.0.1:{port}/healthz", "") != 200:
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        assert status(f"{endpoint}/Users", token) == 200

        # The printed rotation, from a shell in the checkout: the server accepts its token.
        rotated = subprocess.run(
            as_printed(rotate.group(1)), cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert rotated.returncode == 0, rotated.stderr
        new_token = re.search(r"Secret Token: (\S+)", rotated.stdout).group(1)
        assert status(f"{endpoint}/Users", new_token) == 200
        assert status(f"{endpoint}/Users", token) == 401

        # The printed password reset works too (no "DJANGO_SECRET_KEY must be set").
        reset = subprocess.run(
            as_printed(change_password.group(1)),
            cwd=ROOT,
            env=env,
            input="Another-Pass-4821\nAnother-Pass-4821\n",
            capture_output=True,
            text=True,
        )
        assert reset.returncode == 0, reset.stderr
        assert "Password changed successfully for user 'admin'" in reset.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_a_deployment_never_reads_the_local_file(tmp_path):
    env = local_env(tmp_path)
    (tmp_path / "local.env").write_text("DJANGO_DEBUG=true\nKESTRA_URL=http://local.example\n")
    show = "from django.conf import settings as s; print(s.DEBUG, s.KESTRA_URL or '-')"
    deployed = {**env, "DJANGO_SECRET_KEY": "y" * 50}
    assert manage(deployed, "shell", "--no-imports", "-c", show).split() == ["False", "-"]
    local = manage(env, "shell", "--no-imports", "-c", show)
    assert local.split() == ["True", "http://local.example"]


README = ROOT / "README.md"
PRINTED = re.compile(r"\.venv/bin/python manage\.py ([^`\n#…]+)")
# Run elsewhere: they ask for a password at a prompt (test_printed_commands_… answers one).
INTERACTIVE = ("changepassword", "createsuperuser")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def expand(command: str) -> list[list[str]]:
    """A README command line → the commands it stands for: optional parts left out, each
    alternative of `a|b|c` on its own, placeholders filled in (the id at run time)."""
    required = re.sub(r"\[[^\]]*\]", "", command)
    required = (
        required.replace("<tenant_id>", "acme").replace("NAME", "Acme").replace("<id>", "{id}")
    )
    required = required.replace("<integration_id>", "{id}")
    words = shlex.split(required)
    for n, word in enumerate(words):
        if "|" in word:
            return [[*words[:n], alternative, *words[n + 1 :]] for alternative in word.split("|")]
    return [words]


def test_the_readme_commands_work_as_printed(tmp_path):
    env = local_env(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "kestra_iam.local_env", "--url", "http://127.0.0.1:8000"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "tenant", "create", "main")  # the README's examples use the demo's tenant

    printed = [c.strip() for c in PRINTED.findall(README.read_text())]
    commands = [words for line in printed for words in expand(line)]
    commands = [c for c in commands if c[0] not in INTERACTIVE]
    # Creating comes first and deleting last: the other commands act on the integration.
    commands.sort(
        key=lambda words: {"create": 0, "delete": 2}.get(words[1] if words[1:] else "", 1)
    )
    assert len(commands) >= 15, commands

    integration_id = None
    for words in commands:
        if "{id}" in words:
            assert integration_id, f"{words} needs an integration created before it"
            words = [w.replace("{id}", integration_id) for w in words]
        result = subprocess.run(
            [sys.executable, "manage.py", *words], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"manage.py {' '.join(words)}\n{result.stderr}"
        if words[:2] == ["integration", "create"]:
            integration_id = UUID.search(result.stdout).group(0)
