"""`provisioned_by` becomes a plain integration id on accesses, and is recorded on groups too.

The IAM domain no longer holds a foreign key into the provisioning app (layers point one way:
provisioning depends on the domain, not the reverse). The column keeps its name and its values:
only the foreign key constraint goes, so no data moves.
"""

from django.db import migrations, models

from kestra_iam.migrations._history import without_membership_triggers


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0007_membership_same_tenant")]

    operations = without_membership_triggers(
        # Same column, no constraint: Django drops the foreign key and keeps the values.
        migrations.AlterField(
            model_name="tenantaccess",
            name="provisioned_by",
            field=models.UUIDField(
                blank=True, db_column="provisioned_by_id", editable=False, null=True
            ),
        ),
        migrations.RenameField(
            model_name="tenantaccess", old_name="provisioned_by", new_name="provisioned_by_id"
        ),
        migrations.AlterField(
            model_name="tenantaccess",
            name="provisioned_by_id",
            field=models.UUIDField(
                blank=True,
                editable=False,
                null=True,
                verbose_name="provisioned by (integration id)",
            ),
        ),
        migrations.AddField(
            model_name="group",
            name="provisioned_by_id",
            field=models.UUIDField(
                blank=True,
                editable=False,
                null=True,
                verbose_name="provisioned by (integration id)",
            ),
        ),
    )
