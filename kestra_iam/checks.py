"""System checks of what the hot paths assume about the deployment (`manage.py check`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


def server_side_binding_errors(databases: dict) -> list[Error]:
    """The one-message writes (`kestra_iam.compiled.insert_together`, `kestra_iam.piggyback`)
    send several statements separated by `;` in one query, which PostgreSQL accepts only when
    psycopg binds parameters on the client, as Django does unless told otherwise."""
    return [
        Error(
            f"DATABASES[{alias!r}] sets OPTIONS server_side_binding: the writes that travel "
            "as one message need client-side binding.",
            hint="Remove server_side_binding from the database OPTIONS.",
            id="kestra_iam.E001",
        )
        for alias, config in databases.items()
        if "postgresql" in config.get("ENGINE", "")
        and (config.get("OPTIONS") or {}).get("server_side_binding")
    ]


@register()
def client_side_binding(app_configs=None, **kwargs) -> list[Error]:
    return server_side_binding_errors(settings.DATABASES)
