"""Integration names unique without case; token lifetimes of 1 to 3650 days or none.

Existing data is brought in line first: a name that only differs in case from an earlier one
gets " (2)", " (3)" … appended, and a lifetime of 0 days (which meant "never") becomes empty.
SQLite rebuilds the table for the new constraints, which would lose the table's authorisation
generation triggers: they are dropped before and created again after.
"""

import django.core.validators
import django.db.models.functions.text
from django.db import migrations, models

from provisioning.migrations import _generation_triggers as triggers


def bring_existing_rows_in_line(apps, schema_editor):
    Integration = apps.get_model("provisioning", "ProvisioningIntegration")
    Integration.objects.filter(token_lifetime_days=0).update(token_lifetime_days=None)
    taken = set()
    for integration in Integration.objects.order_by("tenant_id", "created_at", "pk"):
        name, n = integration.name, 1
        while (integration.tenant_id, name.lower()) in taken:
            n += 1
            name = f"{integration.name[:120]} ({n})"
        taken.add((integration.tenant_id, name.lower()))
        if name != integration.name:
            Integration.objects.filter(pk=integration.pk).update(name=name)
    if schema_editor.connection.vendor == "postgresql":
        # The updates queued deferred foreign-key checks; PostgreSQL refuses to alter a table
        # with pending trigger events, which the constraints below do. Run the checks now.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("kestra_iam", "0011_fewer_indexes_on_the_write_path"),
        ("provisioning", "0003_integration_bumps_generation"),
    ]

    operations = [
        migrations.RunPython(bring_existing_rows_in_line, migrations.RunPython.noop),
        migrations.RunPython(triggers.drop, triggers.create),
        migrations.RemoveConstraint(
            model_name="provisioningintegration",
            name="integration_name_unique",
        ),
        migrations.AlterField(
            model_name="provisioningintegration",
            name="token_lifetime_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Leave empty for a Secret Token that never expires (what Entra ID expects). Otherwise rotate it before it expires: the list warns 30 days ahead.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(3650),
                ],
                verbose_name="token lifetime (days)",
            ),
        ),
        migrations.AddConstraint(
            model_name="provisioningintegration",
            constraint=models.UniqueConstraint(
                models.F("tenant"),
                django.db.models.functions.text.Lower("name"),
                name="integration_name_unique_ci",
                violation_error_message="This tenant already has an integration with this name (names are compared without case).",
            ),
        ),
        migrations.AddConstraint(
            model_name="provisioningintegration",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("token_lifetime_days__isnull", True),
                    models.Q(("token_lifetime_days__gte", 1), ("token_lifetime_days__lte", 3650)),
                    _connector="OR",
                ),
                name="integration_token_lifetime_range",
            ),
        ),
        migrations.RunPython(triggers.create, triggers.drop),
    ]
