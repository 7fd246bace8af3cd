"""The database triggers as they stand, which the database enforces whoever writes.

- Group memberships stay within one tenant. Django cannot express a constraint across two
  tables: a membership insert or update whose group and access belong to different tenants
  fails, and so does moving a group or an access that has memberships to another tenant. On
  PostgreSQL the membership check is a statement-level trigger over the inserted rows, so adding
  10,000 members is one join, not 10,000 trigger calls. Either way the error is an integrity
  error, like a foreign key's.
- A user binding needs the user's access to its tenant, and removing the access removes its
  bindings (migration 0014).
- The authorisation generation (`kestra_iam.models.AuthGeneration`) is bumped by row triggers
  when a row that decides who may call what changes; `kestra_iam_expect_generation(n)` checks it
  inside a request's first statement (`scim.authentication`), and an audit event that carries
  a generation is refused if it no longer stands (0016, `kestra_iam.authorisation`).

This module describes; it does not create. Migrations run the SQL as they ran it, frozen in
them (`kestra_iam/migrations/_history.py`, 0017's random bump), so editing this module cannot
change what an old migration does; `tests/kestra_iam/test_triggers.py` checks that the database
holds exactly what this module says, so a change here needs a migration that makes it so.

On SQLite, a migration that rebuilds `kestra_iam_group`, `kestra_iam_tenantaccess` or
`kestra_iam_groupmembership` (any AlterField there) must drop the membership triggers first and
create them again afterwards — SQLite refuses to rename a table that a trigger body names — as
0008 does with `_history.without_membership_triggers`; a rebuild of a generation trigger's table
loses its triggers, which the same test notices.
"""

from kestra_iam.authorisation import GENERATION_CHANGED

# Every statement below is fixed text; MESSAGE is a constant of this module, not input.
# ruff: noqa: S608
MESSAGE = "a group membership must join a group and an access of the same tenant"
RAISE = f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation';"


def _keeps_tenant(membership_column: str) -> str:
    """The body that refuses to move a group or an access with memberships to another tenant."""
    return f"""BEGIN
    IF EXISTS (SELECT 1 FROM kestra_iam_groupmembership WHERE {membership_column} = NEW.id) THEN
        {RAISE}
    END IF;
    RETURN NEW;
END"""


# On PostgreSQL the new value is random (64 bits of a strong random UUID's digest), not the next
# number: after a failover that lost a committed bump, the new primary's next bump would reissue
# that number, and a process could trust a principal cached under it. Only equality is ever
# compared. SQLite, a single file with no replica, keeps the counter.
BUMP_RANDOM = (
    "UPDATE kestra_iam_authgeneration "
    "SET value = ('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint WHERE id = 1"
)
BUMP = "UPDATE kestra_iam_authgeneration SET value = value + 1 WHERE id = 1"

# PostgreSQL functions: name → body (what `pg_proc.prosrc` holds).
POSTGRESQL_FUNCTIONS = {
    "kestra_iam_membership_same_tenant": f"""BEGIN
    IF EXISTS (
        SELECT 1 FROM new_memberships m
        JOIN kestra_iam_group g ON g.id = m.group_id
        JOIN kestra_iam_tenantaccess a ON a.id = m.access_id
        WHERE g.tenant_id <> a.tenant_id
    ) THEN
        {RAISE}
    END IF;
    RETURN NULL;
END""",
    "kestra_iam_group_keeps_tenant": _keeps_tenant("group_id"),
    "kestra_iam_access_keeps_tenant": _keeps_tenant("access_id"),
    "kestra_iam_bump_generation": f"BEGIN {BUMP_RANDOM}; RETURN NULL; END",
    "kestra_iam_expect_generation": f"""BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM kestra_iam_authgeneration WHERE id = 1 AND value = expected
    ) THEN
        RAISE EXCEPTION 'the authorisation generation changed'
            USING ERRCODE = '{GENERATION_CHANGED}';
    END IF;
END""",
}

BINDING_MESSAGE = "a user binding needs an access of that user to its tenant"
POSTGRESQL_FUNCTIONS |= {
    # KEY SHARE on the access: a concurrent removal of the access waits for this binding's
    # transaction, and its own trigger then removes the binding too.
    "kestra_iam_binding_user_has_access": f"""BEGIN
    PERFORM 1 FROM kestra_iam_tenantaccess
        WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '{BINDING_MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END""",
    "kestra_iam_access_takes_its_bindings": """BEGIN
    DELETE FROM kestra_iam_binding WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
    RETURN NULL;
END""",
    # FOR SHARE until the write commits: a bump of the generation in progress is waited for,
    # then its new value is seen; a bump that starts later waits for this write to commit.
    "kestra_iam_event_authorised": f"""BEGIN
    PERFORM 1 FROM kestra_iam_authgeneration
        WHERE id = 1 AND value = NEW.authorised_generation FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the authorisation generation changed'
            USING ERRCODE = '{GENERATION_CHANGED}';
    END IF;
    RETURN NEW;
END""",
}

# Trigger name → table, for the triggers that are not generation bumps. SQLite has no
# `INSERT OR UPDATE` trigger: the binding check is two there.
MEMBERSHIP_TRIGGERS = {
    "membership_same_tenant_insert": "kestra_iam_groupmembership",
    "membership_same_tenant_update": "kestra_iam_groupmembership",
    "group_keeps_tenant": "kestra_iam_group",
    "access_keeps_tenant": "kestra_iam_tenantaccess",
}
CHECK_TRIGGERS = {
    "postgresql": {"binding_user_has_access": "kestra_iam_binding"},
    "sqlite": {
        "binding_user_has_access_insert": "kestra_iam_binding",
        "binding_user_has_access_update": "kestra_iam_binding",
    },
}
OTHER_TRIGGERS = {
    "access_takes_its_bindings": "kestra_iam_tenantaccess",
    "auditevent_authorised": "kestra_iam_auditevent",
}

# The generation triggers: table, the events that matter, and the condition (on NEW or OLD)
# under which they matter. Updates of bookkeeping columns (last used, last request) do not bump.
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


def trigger_tables(vendor: str, more_generation_triggers=()) -> dict[str, str]:
    """The triggers the database holds, name → table: this domain's, and the generation
    triggers other apps add (provisioning's integrations)."""
    generation = [*DOMAIN_GENERATION_TRIGGERS, *more_generation_triggers]
    return {
        **MEMBERSHIP_TRIGGERS,
        **CHECK_TRIGGERS[vendor],
        **OTHER_TRIGGERS,
        **{generation_trigger_name(table, event): table for table, event, _ in generation},
    }
