from django.db import migrations, models


def hand_provisioned_profiles_to_their_tenants(apps, schema_editor):
    """Users that an integration provisioned become tenant-owned; everyone else (admin-made
    users, administrators, users whose integration is gone) stays site-managed, which is the
    safe side: provisioning can still link them, but not rewrite them."""
    User = apps.get_model("kestra_iam", "User")
    User.objects.filter(
        is_staff=False, is_superuser=False, accesses__provisioned_by__isnull=False
    ).update(site_managed=False)


class Migration(migrations.Migration):
    dependencies = [
        ("kestra_iam", "0005_audit_event"),
        ("provisioning", "0002_integration_token_lifetime"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="site_managed",
            field=models.BooleanField(
                default=True,
                help_text="Provisioning may link this user to tenants but never changes its profile or password. Cleared, the tenant with the oldest access owns the profile (or, with no access, the next tenant that provisions the user).",
                verbose_name="profile managed in this admin",
            ),
        ),
        migrations.RunPython(hand_provisioned_profiles_to_their_tenants, migrations.RunPython.noop),
    ]
