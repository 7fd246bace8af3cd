"""System checks of what the hot paths assume about the deployment (`manage.py check`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


def server_side_binding_errors(databases: dict) -> list[Error]:
    """The one-message writes (`kestra_iam.db.compiled.insert_together`, `kestra_iam.db.piggyback`)
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


def router_errors(routers: list) -> list[Error]:
    """The app is single-database by design (docs/architecture.md, "One database"): its hot
    paths write through the default connection, so a router would be obeyed by the ORM's reads
    and writes and ignored by theirs — silently splitting one request's rows. Refused instead."""
    if not routers:
        return []
    return [
        Error(
            "DATABASE_ROUTERS is set, but Kestra IAM runs on one database (the default alias): "
            "its one-message writes and compiled queries do not follow a router.",
            hint="Remove DATABASE_ROUTERS; scale reads and failover with PostgreSQL itself "
            "(README, Production).",
            id="kestra_iam.E002",
        )
    ]


@register()
def one_database(app_configs=None, **kwargs) -> list[Error]:
    return router_errors(settings.DATABASE_ROUTERS)
