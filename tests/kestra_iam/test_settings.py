"""Configuration: environment variables, the Kestra YAML file, and clear start-up errors."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from kestra_iam.env import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIG_VARIABLES = (
    "KESTRA_CONFIG",
    "KESTRA_URL",
    "KESTRA_EE_TENANTS_ENABLED",
    "DATABASE_URL",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return monkeypatch


def load_settings() -> dict:
    """Execute the settings module afresh against the current environment."""
    return runpy.run_path(str(ROOT / "kestra_iam" / "settings.py"))


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "application.yml"
    path.write_text(text)
    return str(path)


def test_defaults_without_any_configuration(clean_env):
    settings = load_settings()
    assert settings["KESTRA_TENANTS_ENABLED"] is True
    assert settings["KESTRA_URL"] is None
    assert settings["DEBUG"] is False


def test_default_database_is_a_local_sqlite_file(clean_env):
    clean_env.delenv("DATABASE_URL")
    database = load_settings()["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"].endswith("var/kestra_iam.sqlite3")


def test_postgres_url_selects_postgresql(clean_env):
    clean_env.setenv("DATABASE_URL", "postgres://kestra:secret@db.internal:5433/iam")
    database = load_settings()["DATABASES"]["default"]
    assert database["ENGINE"] == "kestra_iam.db.postgresql"  # Django's, health-checked cheaply
    assert database["CONN_HEALTH_CHECKS"] is True
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5433, "iam")


def test_yaml_file_in_kestra_shape(clean_env, tmp_path):
    clean_env.setenv(
        "KESTRA_CONFIG",
        write_config(
            tmp_path,
            "kestra:\n"
            "  url: https://kestra.example.com/\n"
            "  ee:\n    tenants:\n      enabled: false\n",
        ),
    )
    settings = load_settings()
    assert settings["KESTRA_URL"] == "https://kestra.example.com"
    assert settings["KESTRA_TENANTS_ENABLED"] is False
    assert "kestra.example.com" in settings["ALLOWED_HOSTS"]


def test_environment_overrides_the_file(clean_env, tmp_path):
    clean_env.setenv(
        "KESTRA_CONFIG",
        write_config(
            tmp_path,
            "kestra:\n  url: https://file.example.com\n  ee:\n    tenants:\n      enabled: false\n",
        ),
    )
    clean_env.setenv("KESTRA_URL", "https://env.example.com")
    clean_env.setenv("KESTRA_EE_TENANTS_ENABLED", "TRUE")
    settings = load_settings()
    assert settings["KESTRA_URL"] == "https://env.example.com"
    assert settings["KESTRA_TENANTS_ENABLED"] is True


@pytest.mark.parametrize(
    "variables, files, message",
    [
        (
            {"KESTRA_EE_TENANTS_ENABLED": "maybe"},
            None,
            "KESTRA_EE_TENANTS_ENABLED must be a boolean (true or false), got 'maybe'",
        ),
        (
            {},
            "kestra:\n  ee:\n    tenants:\n      enabled: sometimes\n",
            "kestra.ee.tenants.enabled in",
        ),
        ({}, "kestra: [unclosed\n", "is not valid YAML (line 2: expected ',' or ']'"),
        ({}, "- just\n- a list\n", "must hold a mapping at the top level"),
        ({"KESTRA_CONFIG": "/nonexistent/application.yml"}, None, "KESTRA_CONFIG: cannot read"),
        ({"DATABASE_URL": "mysql://root@localhost/iam"}, None, "DATABASE_URL scheme 'mysql'"),
        ({"DATABASE_URL": "not a url"}, None, "DATABASE_URL scheme"),
        ({"KESTRA_URL": "kestra.example.com"}, None, "KESTRA_URL must be an absolute http(s) URL"),
        ({"DJANGO_DEBUG": "yes please"}, None, "DJANGO_DEBUG must be a boolean"),
        ({"DJANGO_SECRET_KEY": ""}, None, "DJANGO_SECRET_KEY must be set"),
        ({"DATABASE_CONN_MAX_AGE": "soon"}, None, "DATABASE_CONN_MAX_AGE must be an integer"),
    ],
)
def test_bad_configuration_names_the_setting(clean_env, tmp_path, variables, files, message):
    for name, value in variables.items():
        clean_env.setenv(name, value)
    if files is not None:
        clean_env.setenv("KESTRA_CONFIG", write_config(tmp_path, files))
    with pytest.raises(ConfigError) as excinfo:
        load_settings()
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


@pytest.mark.parametrize(
    "entry_point",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-c", "import kestra_iam.wsgi"],
    ],
    ids=["manage.py", "wsgi"],
)
def test_start_up_fails_with_one_clear_line(entry_point, tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CONFIG_VARIABLES and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        KESTRA_EE_TENANTS_ENABLED="perhaps",
        DJANGO_SECRET_KEY="x" * 50,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    result = subprocess.run(
        entry_point, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: KESTRA_EE_TENANTS_ENABLED must be a boolean (true or false), "
        "got 'perhaps'"
    ]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1000/10s", (1000, 10)),
        ("100/s", (100, 1)),
        ("6000/m", (6000, 60)),
        ("0", (0, 1)),
        ("50/2h", (50, 7200)),
    ],
)
def test_rate_limit_setting(clean_env, raw, expected):
    clean_env.setenv("SCIM_RATE_LIMIT", raw)
    assert load_settings()["SCIM"]["rate_limit"] == expected


@pytest.mark.parametrize("raw", ["fast", "10/", "10/x", "-1/s", "10"])
def test_bad_rate_limit_names_the_setting(clean_env, raw):
    clean_env.setenv("SCIM_RATE_LIMIT", raw)
    with pytest.raises(ConfigError, match="SCIM_RATE_LIMIT must look like"):
        load_settings()


def test_cache_url(clean_env):
    assert load_settings()["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")
    clean_env.setenv("CACHE_URL", "redis://127.0.0.1:6379/1")
    cache = load_settings()["CACHES"]["default"]
    assert (
        cache["BACKEND"].endswith("RedisCache") and cache["LOCATION"] == "redis://127.0.0.1:6379/1"
    )
    clean_env.setenv("CACHE_URL", "memcached://x")
    with pytest.raises(ConfigError, match="CACHE_URL scheme 'memcached'"):
        load_settings()


def test_gunicorn_access_log_leaves_query_strings_out():
    config = runpy.run_path(str(ROOT / "kestra_iam" / "gunicorn_conf.py"))
    assert "%(U)s" in config["access_log_format"]
    for with_query in ("%(r)s", "%(q)s", "%(u)s"):
        assert with_query not in config["access_log_format"]
    assert config["workers"] >= 3
