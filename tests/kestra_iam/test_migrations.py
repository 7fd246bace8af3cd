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
