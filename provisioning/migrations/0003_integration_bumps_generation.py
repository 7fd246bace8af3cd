"""Enabling, disabling, moving or deleting an integration bumps the authorisation generation, so
authentication caches see it at once (see `kestra_iam.models.AuthGeneration`)."""

from django.db import migrations

from kestra_iam.triggers import ALWAYS, create_generation_triggers, drop_generation_triggers

INTEGRATION_GENERATION_TRIGGERS = [
    ("provisioning_provisioningintegration", "INSERT", ALWAYS),
    ("provisioning_provisioningintegration", "DELETE", ALWAYS),
    (
        "provisioning_provisioningintegration",
        "UPDATE OF enabled, tenant_id, service_account_id",
        ALWAYS,
    ),
]


def create_triggers(apps, schema_editor):
    create_generation_triggers(schema_editor, INTEGRATION_GENERATION_TRIGGERS)


def drop_triggers(apps, schema_editor):
    drop_generation_triggers(schema_editor, INTEGRATION_GENERATION_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0002_integration_token_lifetime"),
        ("kestra_iam", "0010_auth_generation"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
