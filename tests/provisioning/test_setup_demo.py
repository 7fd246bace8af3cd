"""`make run`'s set-up command is idempotent, prints secrets only when it creates them, audits
what it creates, and makes the demo integration once."""

import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from kestra_iam.models import AuditEvent, Tenant, User
from kestra_iam.services import api_token_authenticate
from provisioning.models import ProvisioningIntegration

pytestmark = pytest.mark.django_db


def run(capsys) -> str:
    call_command("setup_demo")
    return capsys.readouterr().out


def test_first_run_creates_admin_tenant_and_integration_and_prints_secrets(capsys):
    out = run(capsys)
    password = re.search(r"password: (\S+)", out).group(1)
    assert authenticate(username="admin", password=password) is not None
    assert Tenant.objects.filter(id="main").exists()
    integration = ProvisioningIntegration.objects.get(tenant_id="main", name="Microsoft Entra ID")
    assert f"/api/v1/main/integrations/{integration.pk}/scim/v2" in out
    token = re.search(r"Secret Token:\s+(\S+)", out).group(1)
    assert api_token_authenticate(token).service_account == integration.service_account


def test_second_run_reuses_everything_and_prints_no_secret(capsys):
    first = run(capsys)
    second = run(capsys)
    assert "password:" in first and "Secret Token:" in first
    assert "password:" not in second and "kiam_" not in second
    assert "changepassword admin" in second
    assert "integration rotate-token" in second and "exists" in second
    assert User.objects.count() == 1 and Tenant.objects.count() == 1
    assert ProvisioningIntegration.objects.count() == 1


def test_tenancy_off_skips_the_integration_and_says_why(capsys, settings):
    settings.KESTRA_TENANTS_ENABLED = False
    out = run(capsys)
    assert "Provisioning requires tenants to be enabled" in out
    assert not ProvisioningIntegration.objects.exists()


def test_what_it_creates_is_audited_as_the_commands_are(capsys):
    run(capsys)
    events = AuditEvent.objects.filter(actor_type=AuditEvent.ActorType.COMMAND)
    assert sorted(events.values_list("action", flat=True)) == [
        "command.integration.create",
        "command.tenant.create",
        "command.user.create_superuser",
    ]
    integration = ProvisioningIntegration.objects.get()
    assert events.get(action="command.integration.create").integration_id == integration.pk
    run(capsys)  # reusing everything records nothing
    assert events.count() == 3


def test_a_deleted_demo_integration_is_not_created_again(capsys):
    run(capsys)
    ProvisioningIntegration.objects.get().delete()
    out = run(capsys)
    assert not ProvisioningIntegration.objects.exists()
    assert "kiam_" not in out and "Secret Token:" not in out
    assert "integration create --tenant main" in out
