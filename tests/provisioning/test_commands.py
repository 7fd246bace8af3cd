"""`manage.py tenant …` and `manage.py integration …`: the interface scripts depend on."""

import uuid

import pytest
from django.core.management import CommandError

from kestra_iam.models import ServiceAccount, Tenant
from kestra_iam.services import api_token_authenticate
from provisioning.models import ProvisioningIntegration
from tests.commands import run, run_json

pytestmark = pytest.mark.django_db


# --- tenant -------------------------------------------------------------------------------------


def test_tenant_create_and_list():
    assert "Tenant 'acme-prod' created." in run("tenant", "create", "acme-prod", "--name", "ACME")
    run("tenant", "create", "main")
    listed = run_json("tenant", "list")
    assert [(t["id"], t["name"]) for t in listed] == [("acme-prod", "ACME"), ("main", "main")]
    assert "acme-prod\tACME" in run("tenant", "list")


@pytest.mark.parametrize(
    "tenant_id, message",
    [("Not_A_Slug", "Invalid tenant id 'Not_A_Slug'"), ("x-", "Invalid tenant id 'x-'")],
)
def test_tenant_create_rejects_invalid_ids(tenant_id, message):
    with pytest.raises(CommandError, match=message):
        run("tenant", "create", tenant_id)
    assert not Tenant.objects.exists()


def test_tenant_create_rejects_a_duplicate(tenant):
    with pytest.raises(CommandError, match="Tenant 'main' already exists"):
        run("tenant", "create", "main")


# --- integration --------------------------------------------------------------------------------


def test_create_prints_endpoint_and_token(tenant):
    out = run("integration", "create", "--tenant", "main", "--name", "Entra ID")
    integration = ProvisioningIntegration.objects.get()
    assert f"http://127.0.0.1:8000/api/v1/main/integrations/{integration.pk}/scim/v2" in out
    token = out.split("Secret Token: ")[1].split()[0]
    assert api_token_authenticate(token) is not None


def test_create_json_has_exactly_the_documented_keys(tenant, settings):
    settings.KESTRA_URL = "https://kestra.example.com"
    data = run_json(
        "integration", "create", "--tenant", "main", "--name", "Entra ID",
        "--description", "prod", "--disabled",
    )  # fmt: skip
    assert set(data) == {"id", "tenant", "name", "enabled", "endpoint", "token"}
    assert data["tenant"] == "main" and data["name"] == "Entra ID" and data["enabled"] is False
    assert data["endpoint"] == (
        f"https://kestra.example.com/api/v1/main/integrations/{data['id']}/scim/v2"
    )
    integration = ProvisioningIntegration.objects.get(pk=data["id"])
    assert integration.description == "prod" and not integration.enabled
    assert api_token_authenticate(data["token"]).service_account == integration.service_account


def test_list_all_and_by_tenant(tenant, other_tenant):
    run("integration", "create", "--tenant", "main", "--name", "A")
    run("integration", "create", "--tenant", "other", "--name", "B")
    assert [i["name"] for i in run_json("integration", "list")] == ["A", "B"]
    only = run_json("integration", "list", "--tenant", "other")
    assert [(i["name"], i["tenant"]) for i in only] == [("B", "other")]
    assert "token" not in only[0]
    run("tenant", "create", "empty")
    assert run("integration", "list", "--tenant", "empty").strip() == "No integrations."
    assert run_json("integration", "list", "--tenant", "empty") == []
    text = run("integration", "list")
    assert "A" in text and "B" in text and "/scim/v2" in text


def test_enable_disable(tenant):
    data = run_json("integration", "create", "--tenant", "main", "--name", "A")
    assert run_json("integration", "disable", data["id"])["enabled"] is False
    assert not ProvisioningIntegration.objects.get().enabled
    assert "is enabled" in run("integration", "enable", data["id"])
    assert ProvisioningIntegration.objects.get().enabled


def test_rotate_token(tenant):
    data = run_json("integration", "create", "--tenant", "main", "--name", "A")
    rotated = run_json("integration", "rotate-token", data["id"])
    assert set(rotated) == {"id", "tenant", "name", "enabled", "endpoint", "token"}
    assert rotated["token"] != data["token"]
    assert api_token_authenticate(data["token"]) is None
    assert api_token_authenticate(rotated["token"]) is not None
    assert "Secret Token: kiam_" in run("integration", "rotate-token", data["id"])


def test_delete(tenant):
    data = run_json("integration", "create", "--tenant", "main", "--name", "A")
    deleted = run_json("integration", "delete", data["id"])
    assert deleted["id"] == data["id"] and deleted["deleted"] is True
    assert not ProvisioningIntegration.objects.exists()
    assert not ServiceAccount.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("create", "--tenant", "nope", "--name", "A"), "Unknown tenant 'nope'"),
        (("list", "--tenant", "nope"), "Unknown tenant 'nope'"),
        (("enable", str(uuid.UUID(int=1))), "No integration with id"),
        (("disable", "not-a-uuid"), "No integration with id 'not-a-uuid'"),
        (("rotate-token", str(uuid.UUID(int=2))), "No integration with id"),
        (("delete", "42"), "No integration with id '42'"),
        (("create", "--tenant", "main", "--name", ""), r"^--name: this field cannot be blank\.$"),
        (
            ("create", "--tenant", "main", "--name", "A", "--description", "d" * 2001),
            r"^--description: ensure this value has at most 2000 characters \(it has 2001\).$",
        ),
        (("create", "--tenant", "main", "--name", "n" * 129), r"^--name: ensure this value"),
    ],
)
def test_errors_are_one_clear_line(tenant, args, message):
    with pytest.raises(CommandError, match=message) as excinfo:
        run("integration", *args)
    assert "\n" not in str(excinfo.value)


def test_duplicate_name_in_a_tenant(tenant):
    run("integration", "create", "--tenant", "main", "--name", "A")
    with pytest.raises(CommandError, match=r"^--name: this tenant already has an integration"):
        run("integration", "create", "--tenant", "main", "--name", "a")


def test_tenancy_off_is_refused_with_the_explanation(tenant, settings):
    settings.KESTRA_TENANTS_ENABLED = False
    with pytest.raises(CommandError, match="Provisioning requires tenants to be enabled"):
        run("integration", "create", "--tenant", "main", "--name", "A")
    assert not ProvisioningIntegration.objects.exists()


def test_a_failing_command_exits_non_zero_with_one_line_on_stderr(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DJANGO_SECRET_KEY"] = "x" * 50
    result = subprocess.run(
        [sys.executable, "manage.py", "tenant", "create", "Bad_Id"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("CommandError: Invalid tenant id 'Bad_Id'")
