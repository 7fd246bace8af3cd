"""Drop the tenant-only indexes of accesses and groups.

The unique (tenant, user) and (tenant, displayName key) indexes already serve every query that
narrows by tenant. The extra single-column index (two on PostgreSQL, with its `_like` twin) was
one the planner could prefer on fresh, unanalysed tables, scanning every row of the tenant to
find one user; without it the unique indexes are the only sensible plans.
"""

import django.db.models.deletion
from django.db import migrations, models

from kestra_iam.migrations._history import without_membership_triggers


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0008_provisioned_by_as_an_id")]

    operations = without_membership_triggers(
        migrations.AlterField(
            model_name="group",
            name="tenant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="groups",
                to="kestra_iam.tenant",
            ),
        ),
        migrations.AlterField(
            model_name="tenantaccess",
            name="tenant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="accesses",
                to="kestra_iam.tenant",
            ),
        ),
    )
