"""Values of a user are found through the unique (user, attribute, position) index; the
single-column index on `user_id` only cost every insert another index entry."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0010_auth_generation")]

    operations = [
        migrations.AlterField(
            model_name="uservalue",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="values",
                to="kestra_iam.user",
            ),
        ),
    ]
