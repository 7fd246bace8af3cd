"""A group membership joins a group and an access of the same tenant, enforced by the database
(the triggers are described in `kestra_iam.db.triggers`; the SQL this ran is frozen in `_history`)."""

from django.db import migrations

from kestra_iam.migrations._history import create_triggers, drop_triggers


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0006_user_site_managed")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
