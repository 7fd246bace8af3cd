"""Creating an integration bootstraps its role, service account and binding — once — and the
code that creates it issues its Secret Token."""

import json

import pytest
from django.core import serializers
from django.core.management import call_command
from django.db import transaction

from kestra_iam.models import ApiToken, Binding, Role, ServiceAccount
from kestra_iam.rbac.managed_roles import MANAGED_ROLES
from provisioning import services
from provisioning.checks import integrations_need_tenancy
from provisioning.models import ProvisioningIntegration
from provisioning.services import SCIM_PROVISIONER_ROLE, integration_bootstrap, integration_create
from provisioning.tenancy import TENANCY_REQUIRED, ProvisioningUnavailable
from tests.factories import ProvisioningIntegrationFactory, RoleFactory

pytestmark = pytest.mark.django_db

EXPECTED_PERMISSIONS = {
    "USERS": ["CREATE", "READ", "UPDATE"],
    "GROUPS": ["CREATE", "READ", "UPDATE", "DELETE"],
    "BINDINGS": ["CREATE", "READ", "UPDATE", "DELETE"],
}


def test_creation_bootstraps_everything_exactly_once(tenant):
    created = integration_create(tenant=tenant, name="Entra")
    integration = created.integration
    role = Role.objects.get(tenant=tenant, name=SCIM_PROVISIONER_ROLE)
    assert role.permissions == EXPECTED_PERMISSIONS
    account = integration.service_account
    assert account.tenant == tenant
    assert Binding.objects.get(service_account=account).role == role
    token = ApiToken.objects.get(service_account=account)
    assert created.raw_token.endswith(token.last_characters)
    assert (
        Role.objects.exclude(name__in=MANAGED_ROLES).count(),
        ServiceAccount.objects.count(),
        ApiToken.objects.count(),
    ) == (1, 1, 1)


def test_bootstrap_is_idempotent(tenant):
    integration = integration_create(tenant=tenant, name="Entra").integration
    again = integration_bootstrap(integration=integration)
    assert again.raw_token is None  # nothing new to show
    assert again.service_account == integration.service_account
    assert (
        Role.objects.exclude(name__in=MANAGED_ROLES).count(),
        ServiceAccount.objects.count(),
        Binding.objects.count(),
        ApiToken.objects.count(),
    ) == (1, 1, 1, 1)


def test_integrations_of_a_tenant_share_its_role(tenant):
    first = integration_create(tenant=tenant, name="Entra").integration
    second = integration_create(tenant=tenant, name="Okta").integration
    assert Role.objects.filter(name=SCIM_PROVISIONER_ROLE).count() == 1
    assert first.service_account != second.service_account
    assert Binding.objects.filter(role__name=SCIM_PROVISIONER_ROLE).count() == 2


def test_an_existing_role_is_reused_as_it_stands(tenant):
    narrowed = RoleFactory(
        tenant=tenant, name=SCIM_PROVISIONER_ROLE, permissions={"USERS": ["READ"]}
    )
    integration = integration_create(tenant=tenant, name="Entra").integration
    narrowed.refresh_from_db()
    assert narrowed.permissions == {"USERS": ["READ"]}
    assert Binding.objects.get(service_account=integration.service_account).role == narrowed


def test_a_fixture_load_creates_nothing(tenant, tmp_path):
    integration = ProvisioningIntegrationFactory(tenant=tenant)
    fixture = tmp_path / "integration.json"
    data = json.loads(serializers.serialize("json", [integration]))
    data[0]["fields"]["service_account"] = None
    integration_id = integration.pk
    services.integration_delete(integration=integration)
    Role.objects.all().delete()
    fixture.write_text(json.dumps(data))

    call_command("loaddata", str(fixture), verbosity=0)

    assert ProvisioningIntegration.objects.filter(pk=integration_id).exists()
    assert not Role.objects.exists()
    assert not ServiceAccount.objects.exists()
    assert not ApiToken.objects.exists()


def broken(*args, **kwargs):
    raise RuntimeError("service account store unavailable")


def test_a_failing_bootstrap_rolls_the_whole_creation_back(tenant, monkeypatch):
    monkeypatch.setattr(services, "_service_account_name", broken)
    with pytest.raises(RuntimeError), transaction.atomic():
        ProvisioningIntegration.objects.create(tenant=tenant, name="Entra")
    assert not ProvisioningIntegration.objects.exists()
    assert not Role.objects.filter(name=SCIM_PROVISIONER_ROLE).exists()
    assert not ServiceAccount.objects.exists()
    assert not Binding.objects.exists()


def test_a_bare_orm_save_is_atomic_with_its_bootstrap(tenant, monkeypatch):
    """Even without a caller's transaction, a failed bootstrap leaves no integration behind."""
    monkeypatch.setattr(services, "_service_account_name", broken)
    with pytest.raises(RuntimeError):
        ProvisioningIntegration.objects.create(tenant=tenant, name="Entra")
    assert not ProvisioningIntegration.objects.exists()


def test_a_token_that_cannot_be_issued_takes_the_creation_back(tenant, monkeypatch):
    monkeypatch.setattr(services, "api_token_issue", broken)
    with pytest.raises(RuntimeError):
        integration_create(tenant=tenant, name="Entra")
    assert not ProvisioningIntegration.objects.exists() and not ServiceAccount.objects.exists()


def test_tenancy_off_refuses_every_way_of_creating(tenant, settings):
    settings.KESTRA_TENANTS_ENABLED = False
    with pytest.raises(ProvisioningUnavailable, match="tenants to be enabled"):
        integration_create(tenant=tenant, name="Entra")
    with pytest.raises(ProvisioningUnavailable) as excinfo:
        ProvisioningIntegration.objects.create(tenant=tenant, name="Entra")
    assert str(excinfo.value) == TENANCY_REQUIRED
    assert not ProvisioningIntegration.objects.exists()
    assert not ServiceAccount.objects.exists()


def test_system_check_warns_about_integrations_while_tenancy_is_off(tenant, settings):
    assert integrations_need_tenancy(None) == []
    integration_create(tenant=tenant, name="Entra")
    assert integrations_need_tenancy(None) == []
    settings.KESTRA_TENANTS_ENABLED = False
    (warning,) = integrations_need_tenancy(None)
    assert warning.id == "provisioning.W001"
    assert "1 provisioning integration(s) exist" in warning.msg
    assert warning.hint == TENANCY_REQUIRED


def test_a_bare_save_bootstraps_everything_but_a_token(tenant):
    """However an integration is saved, it gets its role, account and binding; a token only
    from the code that shows it (integration_create, the admin's add page), so no live secret
    is issued where nobody sees it."""
    from provisioning.readiness import integration_readiness

    integration = ProvisioningIntegrationFactory(tenant=tenant)  # a shell's or a fixture's save
    account = integration.service_account
    assert Binding.objects.get(service_account=account).role.name == SCIM_PROVISIONER_ROLE
    assert account.tokens.count() == 0
    token = next(c for c in integration_readiness(integration) if c.key == "token")
    assert not token.ok and "rotate" in token.fix.lower()


def test_the_creating_code_gets_the_token_and_nothing_rides_on_the_instance(tenant):
    created = integration_create(tenant=tenant, name="Explicit")
    assert created.raw_token.startswith("kiam_")
    assert created.raw_token not in repr(vars(created.integration))  # nothing rides on it
    assert created.integration.service_account.tokens.count() == 1
