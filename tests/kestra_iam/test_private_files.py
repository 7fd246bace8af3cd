"""The files that hold a checkout's secrets are readable by their owner only, from the start:
`var/local.env` (secret key, token pepper) and a SQLite database (sessions, token digests)."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kestra_iam import local_env
from tests.processes import ROOT, server_env


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    previous = os.umask(0)  # the worst case: nothing masked
    yield
    os.umask(previous)


def test_local_env_is_created_private_not_restricted_afterwards(tmp_path, open_umask, monkeypatch):
    # Without chmod the mode is whatever the file was created with: that is what others could
    # read in the moment between writing it and restricting it.
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)
    path = tmp_path / "var" / "local.env"
    local_env.ensure(url="http://127.0.0.1:8000", path=path)
    assert mode(path) == 0o600
    kept = local_env.read(path)["DJANGO_SECRET_KEY"]
    local_env.ensure(url="http://127.0.0.1:9000", path=path)  # rewritten: still private
    assert mode(path) == 0o600
    assert local_env.read(path)["DJANGO_SECRET_KEY"] == kept
    assert sorted(p.name for p in path.parent.iterdir()) == ["local.env"]  # no temporary left


@pytest.mark.parametrize("existing", [False, True])
def test_a_sqlite_database_is_private_before_anything_is_written(tmp_path, existing):
    database = tmp_path / "db.sqlite3"
    if existing:  # made by an earlier version, with the umask
        database.touch(mode=0o644)
        os.chmod(database, 0o644)
    env = server_env(tmp_path, DATABASE_URL=f"sqlite:///{database}")
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, umask=0o022,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert mode(database) == 0o600
