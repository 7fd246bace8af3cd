"""Enabling, disabling, moving or deleting an integration bumps the authorisation generation, so
authentication caches see it at once (see `kestra_iam.models.AuthGeneration`)."""

from django.db import migrations

from provisioning.migrations import _generation_triggers as triggers


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0002_integration_token_lifetime"),
        ("kestra_iam", "0010_auth_generation"),
    ]

    operations = [migrations.RunPython(triggers.create, triggers.drop)]
