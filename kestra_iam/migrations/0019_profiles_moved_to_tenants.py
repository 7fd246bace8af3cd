"""The data of migration 0018: each profile moves to its tenant (see 0018 for what goes where)."""

import importlib

from django.db import migrations
from django.db.models import OuterRef, Q, Subquery

PROFILE_COLUMNS = importlib.import_module(
    "kestra_iam.migrations.0018_per_tenant_profiles"
).PROFILE_COLUMNS
VALUE_COLUMNS = (
    "attribute",
    "position",
    "value",
    "value_key",
    "type",
    "primary",
    "display",
    "extra",
)
UNUSABLE = "!moved-to-the-tenant-profile"


def _oldest_access(TenantAccess, user_ref):
    return Subquery(
        TenantAccess.objects.filter(user_id=OuterRef(user_ref))
        .order_by("created_at", "pk")
        .values("pk")[:1]
    )


def move_profiles_to_tenants(apps, schema_editor):
    User = apps.get_model("kestra_iam", "User")
    TenantAccess = apps.get_model("kestra_iam", "TenantAccess")
    UserValue = apps.get_model("kestra_iam", "UserValue")

    def of_user(column):
        return Subquery(User.objects.filter(pk=OuterRef("user_id")).values(column)[:1])

    owners = TenantAccess.objects.filter(
        pk__in=TenantAccess.objects.filter(
            Q(user__site_managed=True) | Q(pk=_oldest_access(TenantAccess, "user_id"))
        ).values("pk")
    )
    owners.update(**{column: of_user(column) for column in PROFILE_COLUMNS})
    # The manager, as the manager's access in the same tenant (if the manager has one there).
    owners.update(
        manager_id=Subquery(
            TenantAccess.objects.filter(
                tenant_id=OuterRef("tenant_id"),
                user_id=Subquery(
                    User.objects.filter(pk=OuterRef(OuterRef("user_id"))).values("manager_id")[:1]
                ),
            ).values("pk")[:1]
        )
    )
    UserValue.objects.update(access_id=_oldest_access(TenantAccess, "user_id"))
    for value in UserValue.objects.filter(
        user__site_managed=True, access_id__isnull=False
    ).iterator():
        copies = TenantAccess.objects.filter(user_id=value.user_id).exclude(pk=value.access_id)
        UserValue.objects.bulk_create(
            UserValue(
                user_id=value.user_id,
                access_id=copy,
                **{column: getattr(value, column) for column in VALUE_COLUMNS},
            )
            for copy in copies.values_list("pk", flat=True)
        )
    UserValue.objects.filter(access_id__isnull=True).delete()

    provisioned = User.objects.filter(site_managed=False)
    provisioned.update(
        primary_tenant_id=Subquery(
            TenantAccess.objects.filter(user_id=OuterRef("pk"))
            .order_by("created_at", "pk")
            .values("tenant_id")[:1]
        )
    )
    TenantAccess.objects.filter(
        pk__in=TenantAccess.objects.filter(
            user__site_managed=False, pk=_oldest_access(TenantAccess, "user_id")
        )
        .exclude(user__password__startswith="!")
        .values("pk")
    ).update(scim_password=of_user("password"))
    provisioned.update(password=UNUSABLE)


def move_profiles_back(apps, schema_editor):
    """The primary (else the oldest) profile becomes the global one again."""
    User = apps.get_model("kestra_iam", "User")
    TenantAccess = apps.get_model("kestra_iam", "TenantAccess")
    UserValue = apps.get_model("kestra_iam", "UserValue")
    for user in User.objects.iterator():
        accesses = TenantAccess.objects.filter(user_id=user.pk).order_by("created_at", "pk")
        source = accesses.filter(tenant_id=user.primary_tenant_id).first() or accesses.first()
        user.site_managed = user.primary_tenant_id is None
        if source is not None:
            for column in PROFILE_COLUMNS:
                setattr(user, column, getattr(source, column))
            user.manager_id = source.manager.user_id if source.manager_id else None
            if source.scim_password:
                user.password = source.scim_password
            UserValue.objects.filter(access_id=source.pk).update(user_id=user.pk)
        user.save()
    UserValue.objects.filter(user_id__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0018_per_tenant_profiles")]

    operations = [migrations.RunPython(move_profiles_to_tenants, move_profiles_back)]
