"""Each tenant's own profile of a user: the profile moves from the global User to TenantAccess.

Until now one profile per user was shown to every tenant with access and written by the tenant
holding the oldest access. Today's data moves as follows:

- a provisioned user's profile, values and SCIM password go to its owner's access (the oldest),
  and that tenant becomes the user's primary tenant. The other tenants' accesses start with an
  empty profile — what they showed was another tenant's identity provider's data — which their
  identity providers fill again on their next synchronisation;
- a user made in the admin (site-managed) had a profile the site wrote and every tenant saw: each
  of its accesses gets a copy, and the user has no primary tenant, so no tenant renames it;
- a profile with no access at all is seen by no tenant and is not kept;
- a password set over SCIM stops being this site's sign-in password (it stays on the profile).

Three migrations, each its own transaction: this one adds the new columns, the next moves the
data, the last removes the old columns — PostgreSQL alters no table that has constraint checks
of rows updated in the same transaction still pending.
"""

import django.db.models.deletion
from django.db import migrations, models

# Frozen here: the fields of the profile when this migration was written.
PROFILE_COLUMNS = {
    "display_name": ("display name", 256),
    "nick_name": ("nickname", 256),
    "title": (None, 256),
    "user_type": ("user type", 256),
    "profile_url": ("profile URL", 2048),
    "preferred_language": ("preferred language", 64),
    "locale": (None, 64),
    "timezone": (None, 64),
    "name_formatted": ("formatted name", 512),
    "name_family_name": ("family name", 256),
    "name_given_name": ("given name", 256),
    "name_middle_name": ("middle name", 256),
    "name_honorific_prefix": ("honorific prefix", 64),
    "name_honorific_suffix": ("honorific suffix", 64),
    "employee_number": ("employee number", 256),
    "cost_center": ("cost center", 256),
    "organization": (None, 256),
    "division": (None, 256),
    "department": (None, 256),
}

# SQLite rebuilds a table to add a NOT NULL column, and a rebuild fails on (or silently drops)
# triggers that name the table. Every trigger is set aside while the tables change and put back
# exactly as it was, whatever created it.
_triggers_set_aside: list[tuple[str, str]] = []


def set_triggers_aside(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        _triggers_set_aside[:] = cursor.fetchall()
    for name, _sql in _triggers_set_aside:
        schema_editor.execute(f'DROP TRIGGER "{name}"')


def put_triggers_back(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for _name, sql in _triggers_set_aside:
        schema_editor.execute(sql)
    _triggers_set_aside.clear()


def with_triggers_set_aside(*operations) -> list:
    return [
        migrations.RunPython(set_triggers_aside, put_triggers_back),
        *operations,
        migrations.RunPython(put_triggers_back, set_triggers_aside),
    ]


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0017_generation_never_reissued")]

    operations = with_triggers_set_aside(
        *(
            migrations.AddField(
                model_name="tenantaccess",
                name=column,
                field=models.CharField(
                    max_length=length,
                    blank=True,
                    default="",
                    **({"verbose_name": label} if label else {}),
                ),
            )
            for column, (label, length) in PROFILE_COLUMNS.items()
        ),
        migrations.AddField(
            model_name="tenantaccess",
            name="manager",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="reports",
                to="kestra_iam.tenantaccess",
            ),
        ),
        migrations.AddField(
            model_name="tenantaccess",
            name="scim_password",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                max_length=128,
                verbose_name="password set over SCIM",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="primary_tenant",
            field=models.ForeignKey(
                blank=True,
                help_text="Whose identity provider's profile of this person is shown here, and "
                "who may change the userName over SCIM. Empty: no tenant's (the userName is "
                "this site's).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="kestra_iam.tenant",
            ),
        ),
        migrations.AddField(
            model_name="uservalue",
            name="access",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="values",
                to="kestra_iam.tenantaccess",
            ),
        ),
        migrations.AlterField(
            model_name="uservalue",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="old_values",
                to="kestra_iam.user",
            ),
        ),
        # Values are keyed by access from now on (the next migration adds that constraint).
        migrations.RemoveConstraint(model_name="uservalue", name="user_value_position_unique"),
    )
