"""The trigger SQL the migrations ran, frozen: migrations 0007–0013 of kestra_iam and 0003–0004
of provisioning run it from here, never from the live `kestra_iam.db.triggers`, so editing the live
definitions cannot change what an old migration does. Never edit this module; a change to a
trigger is a new migration with its own SQL (as 0017 is for the random generation bump, which
replaces the counter below).

(A module whose name starts with "_" is not a migration to Django's loader.)
"""

from django.db import migrations

# The SQLSTATE of a changed authorisation generation (`kestra_iam.authorisation`), as it was.
GENERATION_CHANGED = "KI001"

# Every statement below is fixed text; MESSAGE is a constant of this module, not input.
# ruff: noqa: S608
MESSAGE = "a group membership must join a group and an access of the same tenant"

POSTGRESQL = f"""
CREATE FUNCTION kestra_iam_membership_same_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_memberships m
        JOIN kestra_iam_group g ON g.id = m.group_id
        JOIN kestra_iam_tenantaccess a ON a.id = m.access_id
        WHERE g.tenant_id <> a.tenant_id
    ) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER membership_same_tenant_insert AFTER INSERT ON kestra_iam_groupmembership
    REFERENCING NEW TABLE AS new_memberships
    FOR EACH STATEMENT EXECUTE FUNCTION kestra_iam_membership_same_tenant();
CREATE TRIGGER membership_same_tenant_update AFTER UPDATE ON kestra_iam_groupmembership
    REFERENCING NEW TABLE AS new_memberships
    FOR EACH STATEMENT EXECUTE FUNCTION kestra_iam_membership_same_tenant();

CREATE FUNCTION kestra_iam_group_keeps_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM kestra_iam_groupmembership WHERE group_id = NEW.id) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER group_keeps_tenant BEFORE UPDATE OF tenant_id ON kestra_iam_group
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION kestra_iam_group_keeps_tenant();

CREATE FUNCTION kestra_iam_access_keeps_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM kestra_iam_groupmembership WHERE access_id = NEW.id) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER access_keeps_tenant BEFORE UPDATE OF tenant_id ON kestra_iam_tenantaccess
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION kestra_iam_access_keeps_tenant();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER access_keeps_tenant ON kestra_iam_tenantaccess;
DROP FUNCTION kestra_iam_access_keeps_tenant();
DROP TRIGGER group_keeps_tenant ON kestra_iam_group;
DROP FUNCTION kestra_iam_group_keeps_tenant();
DROP TRIGGER membership_same_tenant_update ON kestra_iam_groupmembership;
DROP TRIGGER membership_same_tenant_insert ON kestra_iam_groupmembership;
DROP FUNCTION kestra_iam_membership_same_tenant();
"""

_SQLITE_MEMBERSHIP_CHECK = f"""
    WHEN EXISTS (
        SELECT 1 FROM kestra_iam_group g, kestra_iam_tenantaccess a
        WHERE g.id = NEW.group_id AND a.id = NEW.access_id AND g.tenant_id <> a.tenant_id
    )
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
"""
SQLITE = [
    "CREATE TRIGGER membership_same_tenant_insert BEFORE INSERT ON kestra_iam_groupmembership"
    + _SQLITE_MEMBERSHIP_CHECK,
    "CREATE TRIGGER membership_same_tenant_update BEFORE UPDATE ON kestra_iam_groupmembership"
    + _SQLITE_MEMBERSHIP_CHECK,
    f"""CREATE TRIGGER group_keeps_tenant BEFORE UPDATE OF tenant_id ON kestra_iam_group
    WHEN OLD.tenant_id IS NOT NEW.tenant_id
        AND EXISTS (SELECT 1 FROM kestra_iam_groupmembership WHERE group_id = NEW.id)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER access_keeps_tenant BEFORE UPDATE OF tenant_id ON kestra_iam_tenantaccess
    WHEN OLD.tenant_id IS NOT NEW.tenant_id
        AND EXISTS (SELECT 1 FROM kestra_iam_groupmembership WHERE access_id = NEW.id)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER {name}"
    for name in (
        "membership_same_tenant_insert",
        "membership_same_tenant_update",
        "group_keeps_tenant",
        "access_keeps_tenant",
    )
]


def create_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    else:
        for statement in SQLITE:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)
    else:
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


def without_membership_triggers(*operations) -> list:
    """Wrap schema operations so the triggers are out of the way while they run (SQLite)."""
    return [
        migrations.RunPython(drop_triggers, create_triggers),
        *operations,
        migrations.RunPython(create_triggers, drop_triggers),
    ]


# --- the authorisation generation -----------------------------------------------------------------
#
# Row triggers that bump `kestra_iam_authgeneration` when a row that decides who may call what
# changes (see `kestra_iam.models.AuthGeneration`). Each entry: table, the events that matter, and
# the condition (on NEW or OLD) under which they matter. Updates of bookkeeping columns (last
# used, last request) do not bump it. On SQLite, a migration that rebuilds one of these tables
# loses its triggers with the old table: recreate them (a test checks they all exist).

BUMP = "UPDATE kestra_iam_authgeneration SET value = value + 1 WHERE id = 1"
ALWAYS = "1 = 1"
SERVICE_ACCOUNT_BINDING_NEW = "NEW.service_account_id IS NOT NULL"
SERVICE_ACCOUNT_BINDING_OLD = "OLD.service_account_id IS NOT NULL"

DOMAIN_GENERATION_TRIGGERS = [
    ("kestra_iam_apitoken", "INSERT", ALWAYS),
    ("kestra_iam_apitoken", "DELETE", ALWAYS),
    (
        "kestra_iam_apitoken",
        "UPDATE OF key_id, digest, pepper_id, expires_at, revoked_at, service_account_id",
        ALWAYS,
    ),
    ("kestra_iam_binding", "INSERT", SERVICE_ACCOUNT_BINDING_NEW),
    ("kestra_iam_binding", "DELETE", SERVICE_ACCOUNT_BINDING_OLD),
    (
        "kestra_iam_binding",
        "UPDATE",
        f"{SERVICE_ACCOUNT_BINDING_OLD} OR {SERVICE_ACCOUNT_BINDING_NEW}",
    ),
    ("kestra_iam_role", "UPDATE OF permissions, tenant_id", ALWAYS),
    ("kestra_iam_role", "DELETE", ALWAYS),
    ("kestra_iam_serviceaccount", "UPDATE OF tenant_id", ALWAYS),
    ("kestra_iam_serviceaccount", "DELETE", ALWAYS),
    ("kestra_iam_tenant", "DELETE", ALWAYS),
]


def generation_trigger_name(table: str, event: str) -> str:
    return f"{table}_{event.split()[0].lower()}_bumps_generation"


def create_generation_triggers(schema_editor, triggers: list[tuple[str, str, str]]) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION kestra_iam_bump_generation() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
    for table, event, condition in triggers:
        name = generation_trigger_name(table, event)
        if postgresql:
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
                f"WHEN ({condition}) EXECUTE FUNCTION kestra_iam_bump_generation()"
            )
        else:
            schema_editor.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
                f"WHEN {condition} BEGIN {BUMP}; END"
            )


def drop_generation_triggers(schema_editor, triggers: list[tuple[str, str, str]]) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"
    for table, event, _ in triggers:
        name = generation_trigger_name(table, event)
        schema_editor.execute(
            f"DROP TRIGGER {name} ON {table}" if postgresql else f"DROP TRIGGER {name}"
        )


# --- checking the generation inside a request's first statement (PostgreSQL) -------------------
#
# A principal cached under generation N is trusted for a request only if the generation is still
# N when the request's first query runs: `SELECT kestra_iam_expect_generation(N)` travels with
# that query (see `scim.authentication`) and fails it — and the transaction it belongs to —
# with GENERATION_CHANGED otherwise, before anything the request does can be written.

EXPECT_GENERATION = f"""
CREATE OR REPLACE FUNCTION kestra_iam_expect_generation(expected bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM kestra_iam_authgeneration WHERE id = 1 AND value = expected
    ) THEN
        RAISE EXCEPTION 'the authorisation generation changed'
            USING ERRCODE = '{GENERATION_CHANGED}';
    END IF;
END $$
"""


def create_generation_check(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(EXPECT_GENERATION)


def drop_generation_check(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION kestra_iam_expect_generation(bigint)")
