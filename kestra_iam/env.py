"""Reading configuration: environment variables plus an optional Kestra-shaped YAML file.

Every helper raises `ConfigError` with one line that names the setting, so a bad value stops
start-up with a readable message instead of a traceback deep inside Django.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ImproperlyConfigured):
    """A setting holds a value we cannot use. The message is one line naming the setting."""


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    """Turn a `ConfigError` raised while loading settings into one line on stderr and exit 2."""
    try:
        yield
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value.strip()


def env_str(name: str, default: str | None = None) -> str | None:
    """A string from the environment; blank counts as unset."""
    value = _raw(name)
    return default if value is None else value


def parse_bool(value: Any, *, setting: str) -> bool:
    """Accept real booleans and the usual spellings of true/false; reject anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"{setting} must be a boolean (true or false), got {value!r}")


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    return default if value is None else parse_bool(value, setting=name)


def env_int(name: str, default: int | None, *, minimum: int | None = None) -> int | None:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}")
    return number


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of a few words, in any case."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value.lower()


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_url(value: Any, *, setting: str) -> str:
    """An absolute http(s) URL without a trailing slash."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{setting} must be an http(s) URL, got {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{setting} must be an absolute http(s) URL such as https://kestra.example.com, "
            f"got {value!r}"
        )
    return value.strip().rstrip("/")


class KestraConfig:
    """The optional YAML file named by KESTRA_CONFIG, in Kestra's own shape.

    ```yaml
    kestra:
      url: https://kestra.example.com
      ee:
        tenants:
          enabled: true
    ```
    """

    def __init__(self, data: dict[str, Any], source: str | None = None) -> None:
        self.data = data
        self.source = source

    @classmethod
    def load(cls, path: str | None) -> KestraConfig:
        if not path:
            return cls({})
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"KESTRA_CONFIG: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"KESTRA_CONFIG: {path} is not UTF-8 text") from None
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None)
            where = f" (line {mark.line + 1}: {problem})" if mark is not None else ""
            raise ConfigError(f"KESTRA_CONFIG: {path} is not valid YAML{where}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"KESTRA_CONFIG: {path} must hold a mapping at the top level")
        return cls(data, source=path)

    def get(self, dotted: str) -> Any:
        """The value at a dotted path such as `kestra.ee.tenants.enabled`, or None."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def setting(
        self,
        dotted: str,
        env_name: str,
        parse: Callable[..., Any],
        default: Any,
    ) -> Any:
        """The environment variable if set, else the file's value, else the default."""
        raw_env = _raw(env_name)
        if raw_env is not None:
            return parse(raw_env, setting=env_name)
        value = self.get(dotted)
        if value is None:
            return default
        return parse(value, setting=f"{dotted} in {self.source}")
