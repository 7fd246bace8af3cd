"""The local checkout's own settings: `var/local.env`, written once by `make run`.

It holds what a local run must keep from one command to the next — a secret key, a token
pepper (the digests of the demo's Secret Tokens depend on it), DEBUG on, the address `make run`
serves on — so that every `.venv/bin/python manage.py …` printed by `make run` and the README
works in the checkout with the same tokens as the server.

manage.py reads it only when the environment brings no `DJANGO_SECRET_KEY`: a deployment, which
always sets one, never picks up a forgotten local file; neither does gunicorn, which does not
read it at all. Variables set in the environment win over the file.

    python -m kestra_iam.local_env --url http://127.0.0.1:8000   # create or update

`KESTRA_LOCAL_ENV` names another file (the tests use one of their own).
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "var" / "local.env"


def local_env_path() -> Path:
    return Path(os.environ.get("KESTRA_LOCAL_ENV") or DEFAULT_PATH)


def read(path: Path | None = None) -> dict[str, str]:
    path = path or local_env_path()
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.lstrip().startswith("#"):
                values[name.strip()] = value.strip()
    return values


def load(path: Path | None = None) -> None:
    """Fill the environment from the file, unless the environment is a deployment's."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return
    for name, value in read(path).items():
        os.environ.setdefault(name, value)


def ensure(*, url: str, path: Path | None = None) -> dict[str, str]:
    """Create the file with fresh secrets if it does not exist; keep its secrets if it does;
    record the address the local server runs on."""
    path = path or local_env_path()
    values = read(path) or {
        "DJANGO_DEBUG": "true",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "KESTRA_TOKEN_PEPPERS": f"1:{secrets.token_urlsafe(40)}",
    }
    values["KESTRA_URL"] = url
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by `make run` for this checkout only: never used by a deployment.\n"
    _write_private(path, header + "".join(f"{name}={value}\n" for name, value in values.items()))
    return values


def _write_private(path: Path, text: str) -> None:
    """Write the file readable by its owner only from its first byte: created 0600 (whatever
    the umask) beside the target, then renamed over it. Writing it first and restricting it
    after left a window in which another local user could read the secrets."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the address make run serves on")
    arguments = parser.parse_args()
    ensure(url=arguments.url)
    print(f"Local settings in {local_env_path()} (serving on {arguments.url}).")


if __name__ == "__main__":
    main()
