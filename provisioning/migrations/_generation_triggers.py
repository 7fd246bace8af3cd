"""The integration table's authorisation generation triggers, for the migrations that create
them and those that must put them back after SQLite rebuilds the table: frozen, as they ran
(the live description is `provisioning.triggers`).

(A module whose name starts with "_" is not a migration to Django's loader.)
"""

from kestra_iam.migrations._history import (
    ALWAYS,
    create_generation_triggers,
    drop_generation_triggers,
)

TABLE = "provisioning_provisioningintegration"
TRIGGERS = [
    (TABLE, "INSERT", ALWAYS),
    (TABLE, "DELETE", ALWAYS),
    (TABLE, "UPDATE OF enabled, tenant_id, service_account_id", ALWAYS),
]


def create(apps, schema_editor):
    create_generation_triggers(schema_editor, TRIGGERS)


def drop(apps, schema_editor):
    drop_generation_triggers(schema_editor, TRIGGERS)
