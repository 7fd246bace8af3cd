"""The global profile's columns go, now that each tenant holds its own (migrations 0018 and 0019)."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

with_triggers_set_aside = importlib.import_module(
    "kestra_iam.migrations.0018_per_tenant_profiles"
).with_triggers_set_aside

REMOVED_FROM_USER = (
    "display_name",
    "nick_name",
    "title",
    "user_type",
    "profile_url",
    "preferred_language",
    "locale",
    "timezone",
    "name_formatted",
    "name_family_name",
    "name_given_name",
    "name_middle_name",
    "name_honorific_prefix",
    "name_honorific_suffix",
    "employee_number",
    "cost_center",
    "organization",
    "division",
    "department",
    "manager",
    "site_managed",
)


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0019_profiles_moved_to_tenants")]

    operations = with_triggers_set_aside(
        migrations.RemoveField(model_name="uservalue", name="user"),
        migrations.AlterField(
            model_name="uservalue",
            name="access",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="values",
                to="kestra_iam.tenantaccess",
            ),
        ),
        migrations.AddConstraint(
            model_name="uservalue",
            constraint=models.UniqueConstraint(
                fields=("access", "attribute", "position"), name="user_value_position_unique"
            ),
        ),
        migrations.AlterModelOptions(
            name="uservalue", options={"ordering": ["access", "attribute", "position"]}
        ),
        *(migrations.RemoveField(model_name="user", name=name) for name in REMOVED_FROM_USER),
    )
