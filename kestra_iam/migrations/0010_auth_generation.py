"""The authorisation generation: one counter, bumped by triggers whenever a token, a service
account's binding, a role or a tenant changes (see `kestra_iam.models.AuthGeneration`)."""

from django.db import migrations, models

from kestra_iam.migrations._history import (
    DOMAIN_GENERATION_TRIGGERS,
    create_generation_triggers,
    drop_generation_triggers,
)


def first_generation(apps, schema_editor):
    apps.get_model("kestra_iam", "AuthGeneration").objects.create(id=1, value=0)


def create_triggers(apps, schema_editor):
    create_generation_triggers(schema_editor, DOMAIN_GENERATION_TRIGGERS)


def drop_triggers(apps, schema_editor):
    drop_generation_triggers(schema_editor, DOMAIN_GENERATION_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0009_tenant_indexes_from_unique_constraints")]

    operations = [
        migrations.CreateModel(
            name="AuthGeneration",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "authorisation generation"},
        ),
        migrations.RunPython(first_generation, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
