"""The models and the committed migrations agree: no change is waiting for makemigrations."""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_no_missing_migrations():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    except SystemExit as exit_:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"models changed without a migration (exit {exit_.code}):\n{out.getvalue()}")


@pytest.mark.django_db(transaction=True)
def test_integration_names_are_made_unique_without_case_on_the_way(tenant):
    """Rows written before names were compared without case survive the new constraint."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("provisioning", "0003_integration_bumps_generation")]
    after = [("provisioning", "0004_integration_name_without_case")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model(
        "provisioning", "ProvisioningIntegration"
    )
    for name, lifetime in [("Entra", None), ("entra", 0), ("ENTRA", 30)]:
        old.objects.create(tenant_id=tenant.pk, name=name, token_lifetime_days=lifetime)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model(
        "provisioning", "ProvisioningIntegration"
    )
    rows = list(new.objects.order_by("created_at").values_list("name", "token_lifetime_days"))
    assert rows == [("Entra", None), ("entra (2)", None), ("ENTRA (3)", 30)]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_profiles_move_to_their_tenants_on_the_way():
    """Migration 0018: the owner's access takes the provisioned profile (values, manager, the
    SCIM password); other tenants start empty; a site-made profile is copied to every tenant."""
    from django.contrib.auth.hashers import check_password, make_password
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("kestra_iam", "0017_generation_never_reissued")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Tenant, User = old.get_model("kestra_iam", "Tenant"), old.get_model("kestra_iam", "User")
    Access = old.get_model("kestra_iam", "TenantAccess")
    Value = old.get_model("kestra_iam", "UserValue")
    first, second = (Tenant.objects.create(id=t, name=t) for t in ("first", "second"))
    boss = User.objects.create(user_name="boss@x", user_name_key="boss@x", site_managed=False)
    ada = User.objects.create(
        user_name="ada@x",
        user_name_key="ada@x",
        site_managed=False,
        display_name="Ada",
        title="Engineer",
        manager=boss,
        password=make_password("Scim-Pass-1"),
    )
    made_here = User.objects.create(
        user_name="site@x", user_name_key="site@x", display_name="Site", password="!"
    )
    for tenant in (first, second):  # `first` holds the oldest accesses: it owned the profiles
        for user in (boss, ada, made_here):
            Access.objects.create(tenant=tenant, user=user)
    Value.objects.create(user=ada, attribute="emails", position=0, value="ada@x")
    Value.objects.create(user=made_here, attribute="emails", position=0, value="site@x")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from kestra_iam.models import TenantAccess, UserValue
    from kestra_iam.models import User as NewUser

    def profile(user_name, tenant_id):
        return TenantAccess.objects.get(user__user_name=user_name, tenant_id=tenant_id)

    owned, empty = profile("ada@x", "first"), profile("ada@x", "second")
    assert (owned.display_name, owned.title) == ("Ada", "Engineer")
    assert owned.manager == profile("boss@x", "first")
    assert check_password("Scim-Pass-1", owned.scim_password)
    assert (empty.display_name, empty.title, empty.manager, empty.scim_password) == (
        "",
        "",
        None,
        "",
    )
    assert list(UserValue.objects.filter(access__user__user_name="ada@x").values_list(
        "access__tenant_id", "value")) == [("first", "ada@x")]  # fmt: skip
    migrated = NewUser.objects.get(user_name="ada@x")
    assert migrated.primary_tenant_id == "first" and not migrated.has_usable_password()
    assert {profile("site@x", t).display_name for t in ("first", "second")} == {"Site"}
    assert UserValue.objects.filter(access__user__user_name="site@x").count() == 2
    assert NewUser.objects.get(user_name="site@x").primary_tenant_id is None
