"""`kestra_iam_expect_generation(n)` on PostgreSQL: a cached principal's generation, checked by
the request's first statement instead of a query of its own (see `kestra_iam.db.triggers`)."""

from django.db import migrations

from kestra_iam.migrations._history import create_generation_check, drop_generation_check


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0012_human_field_labels")]

    operations = [migrations.RunPython(create_generation_check, drop_generation_check)]
