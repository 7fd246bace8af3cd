"""Layers point one way: observability (health, metrics, request logs) knows none of the apps,
the domain (kestra_iam) knows neither provisioning, scim nor the decision API (access),
provisioning knows neither scim nor access, and scim and access, two APIs over the domain, do
not know each other. The project's own wiring (settings, urls, wsgi, gunicorn) sits on top and
may import anything; so may migrations, whose history is frozen."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_WIRING = {"settings.py", "urls.py", "wsgi.py", "asgi.py", "gunicorn_conf.py"}
FORBIDDEN = {
    "observability": ("kestra_iam", "provisioning", "scim", "access", "signin"),
    "kestra_iam": ("provisioning", "scim", "access", "signin"),
    "provisioning": ("scim", "access", "signin"),
    "scim": ("access", "signin"),
    "access": ("scim", "provisioning", "signin"),
    "signin": ("scim", "access", "provisioning"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules_of(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        if app == "kestra_iam" and path.parent.name == "kestra_iam" and path.name in PROJECT_WIRING:
            continue
        yield path


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_no_module_imports_a_layer_above_it(app):
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules_of(app)
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[app]
    ]
    assert offenders == []
