"""Access decisions (see `kestra_iam.rbac`): a tenant's default role, one binding per subject,
role and namespace, user bindings only while the user has access, and the managed roles for
the tenants that exist already.

The SQL and the role definitions below are frozen here, as they were when this ran: later
changes to `kestra_iam.rbac` do not change what this migration did.
"""

import django.db.models.deletion
from django.db import migrations, models

import kestra_iam.namespaces

# Every statement below is fixed text; TRIGGER_MESSAGE is a constant, not input.
# ruff: noqa: S608
SUBJECTS = ("user_id", "group_id", "service_account_id")

TRIGGER_MESSAGE = "a user binding needs an access of that user to its tenant"
POSTGRESQL = f"""
CREATE FUNCTION kestra_iam_binding_user_has_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- KEY SHARE on the access: a concurrent removal of the access waits for this binding's
    -- transaction, and its own trigger then removes the binding too.
    PERFORM 1 FROM kestra_iam_tenantaccess
        WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '{TRIGGER_MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER binding_user_has_access BEFORE INSERT OR UPDATE OF user_id, tenant_id
    ON kestra_iam_binding FOR EACH ROW WHEN (NEW.user_id IS NOT NULL)
    EXECUTE FUNCTION kestra_iam_binding_user_has_access();

CREATE FUNCTION kestra_iam_access_takes_its_bindings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM kestra_iam_binding WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER access_takes_its_bindings AFTER DELETE ON kestra_iam_tenantaccess
    FOR EACH ROW EXECUTE FUNCTION kestra_iam_access_takes_its_bindings();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER access_takes_its_bindings ON kestra_iam_tenantaccess;
DROP FUNCTION kestra_iam_access_takes_its_bindings();
DROP TRIGGER binding_user_has_access ON kestra_iam_binding;
DROP FUNCTION kestra_iam_binding_user_has_access();
"""
_SQLITE_CHECK = f"""ON kestra_iam_binding
    WHEN NEW.user_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM kestra_iam_tenantaccess
        WHERE tenant_id = NEW.tenant_id AND user_id = NEW.user_id
    )
    BEGIN SELECT RAISE(ABORT, '{TRIGGER_MESSAGE}'); END"""
SQLITE = [
    f"CREATE TRIGGER binding_user_has_access_insert BEFORE INSERT {_SQLITE_CHECK}",
    "CREATE TRIGGER binding_user_has_access_update BEFORE UPDATE OF user_id, tenant_id "
    + _SQLITE_CHECK,
    """CREATE TRIGGER access_takes_its_bindings AFTER DELETE ON kestra_iam_tenantaccess
    BEGIN
        DELETE FROM kestra_iam_binding WHERE tenant_id = OLD.tenant_id AND user_id = OLD.user_id;
    END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER access_takes_its_bindings",
    "DROP TRIGGER binding_user_has_access_update",
    "DROP TRIGGER binding_user_has_access_insert",
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    else:
        for statement in SQLITE:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)
    else:
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


def tidy_bindings(apps, schema_editor):
    """Before the new rules hold: a duplicate binding (same subject, role and namespace) is
    merged into the oldest, which grants the same; a user binding without the user's access
    to the tenant granted nothing and would come back to life with a new access: it goes."""
    Binding = apps.get_model("kestra_iam", "Binding")
    TenantAccess = apps.get_model("kestra_iam", "TenantAccess")
    seen = set()
    duplicates = []
    for binding in Binding.objects.order_by("created_at", "pk").iterator():
        key = (
            binding.tenant_id,
            binding.role_id,
            *(getattr(binding, subject) for subject in SUBJECTS),
            binding.namespace,
        )
        if key in seen:
            duplicates.append(binding.pk)
        seen.add(key)
    Binding.objects.filter(pk__in=duplicates).delete()
    with_access = TenantAccess.objects.filter(
        tenant_id=models.OuterRef("tenant_id"), user_id=models.OuterRef("user_id")
    )
    Binding.objects.filter(user_id__isnull=False).exclude(models.Exists(with_access)).delete()


# The managed roles as they were defined when this migration was written.
WORKFLOW = [
    "FLOWS", "EXECUTIONS", "NAMESPACES", "KVSTORE", "SECRETS", "TEMPLATES", "DASHBOARDS",
    "BLUEPRINTS", "APPS", "APPEXECUTIONS", "TESTS", "ASSETS",
]  # fmt: skip
EVERYTHING = [
    "USERS", "GROUPS", "ROLES", "BINDINGS", "FLOWS", "EXECUTIONS", "NAMESPACES", "KVSTORE",
    "SECRETS", "AUDITLOGS", "SETTINGS", "TEMPLATES", "DASHBOARDS", "BLUEPRINTS", "IMPERSONATE",
    "APPS", "APPEXECUTIONS", "TESTS", "ASSETS", "SERVICE_ACCOUNTS", "INVITATIONS",
    "GROUP_MEMBERSHIPS", "TENANT_ACCESS",
]  # fmt: skip
ALL, CRU, CR, READ = (
    ["CREATE", "READ", "UPDATE", "DELETE"], ["CREATE", "READ", "UPDATE"], ["CREATE", "READ"],
    ["READ"],
)  # fmt: skip


def _in_order(permissions):
    return {r: permissions[r] for r in EVERYTHING if r in permissions}


MANAGED_ROLES = {
    "Admin": (
        "Full access to everything in the tenant, its IAM included.",
        {r: ALL for r in EVERYTHING},
    ),
    "Developer": (
        "Builds and runs workflows: every action on flows, executions, namespaces, KV store, "
        "secrets, apps, tests and assets; reads the audit logs.",
        _in_order({**{r: ALL for r in WORKFLOW}, "AUDITLOGS": READ}),
    ),
    "Editor": (
        "Edits workflows without deleting anything; reads secrets.",
        _in_order({**{r: CRU for r in WORKFLOW}, "SECRETS": READ}),
    ),
    "Launcher": (
        "Starts and follows executions of existing flows and apps.",
        _in_order(
            {"FLOWS": READ, "NAMESPACES": READ, "APPS": READ, "EXECUTIONS": CR, "APPEXECUTIONS": CR}
        ),  # fmt: skip
    ),
    "Viewer": (
        "Reads workflows, executions and their resources; no secrets.",
        _in_order({r: READ for r in WORKFLOW if r != "SECRETS"}),
    ),
}


def give_existing_tenants_managed_roles(apps, schema_editor):
    Tenant = apps.get_model("kestra_iam", "Tenant")
    Role = apps.get_model("kestra_iam", "Role")
    for tenant in Tenant.objects.all():
        taken = set(Role.objects.filter(tenant=tenant).values_list("name", flat=True))
        Role.objects.bulk_create(
            Role(tenant=tenant, name=name, description=description, permissions=permissions)
            for name, (description, permissions) in MANAGED_ROLES.items()
            if name not in taken
        )


class Migration(migrations.Migration):
    dependencies = [("kestra_iam", "0013_generation_check")]

    operations = [
        migrations.RunPython(tidy_bindings, migrations.RunPython.noop),
        migrations.AddField(
            model_name="tenant",
            name="default_role",
            field=models.ForeignKey(
                blank=True,
                help_text="Every user with active access to this tenant holds this role, tenant-wide, without a binding.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="kestra_iam.role",
            ),
        ),
        migrations.AlterField(
            model_name="binding",
            name="namespace",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Limit the role to this namespace and every namespace below it (company.data covers company.data.etl). Empty: the whole tenant.",
                max_length=512,
                validators=[kestra_iam.namespaces.validate_namespace],
            ),
        ),
        migrations.AddConstraint(
            model_name="binding",
            constraint=models.UniqueConstraint(
                condition=models.Q(("user__isnull", False)),
                fields=("tenant", "role", "user", "namespace"),
                name="binding_unique_per_user",
                violation_error_message="This subject already holds this role on this namespace.",
            ),
        ),
        migrations.AddConstraint(
            model_name="binding",
            constraint=models.UniqueConstraint(
                condition=models.Q(("group__isnull", False)),
                fields=("tenant", "role", "group", "namespace"),
                name="binding_unique_per_group",
                violation_error_message="This subject already holds this role on this namespace.",
            ),
        ),
        migrations.AddConstraint(
            model_name="binding",
            constraint=models.UniqueConstraint(
                condition=models.Q(("service_account__isnull", False)),
                fields=("tenant", "role", "service_account", "namespace"),
                name="binding_unique_per_service_account",
                violation_error_message="This subject already holds this role on this namespace.",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        # Last: the role inserts queue foreign-key checks, after which PostgreSQL refuses to
        # alter the tables involved in this transaction.
        migrations.RunPython(give_existing_tenants_managed_roles, migrations.RunPython.noop),
    ]
