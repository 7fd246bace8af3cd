"""Secret Token lifecycle: rotation with an overlap, revocation, optional expiry, last use."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.urls import reverse
from django.utils.timezone import now

from kestra_iam.models import ApiToken
from kestra_iam.services import DomainError, api_token_authenticate, live_tokens
from provisioning.services import (
    integration_create,
    integration_revoke_tokens,
    integration_rotate_token,
)
from tests.commands import run

pytestmark = pytest.mark.django_db


@pytest.fixture
def created(tenant):
    return integration_create(tenant=tenant, name="Entra ID")


def test_rotation_without_overlap_stops_the_old_token_at_once(created):
    new = integration_rotate_token(integration=created.integration)
    assert api_token_authenticate(created.raw_token) is None
    assert api_token_authenticate(new.raw) is not None


def test_rotation_with_overlap_keeps_the_old_token_until_it_ends(created):
    new = integration_rotate_token(integration=created.integration, overlap=timedelta(hours=1))
    assert api_token_authenticate(created.raw_token) is not None
    assert api_token_authenticate(new.raw) is not None
    old = ApiToken.objects.get(key_id=created.raw_token[5:21])
    assert timedelta(minutes=59) < old.expires_at - now() <= timedelta(hours=1)
    ApiToken.objects.filter(pk=old.pk).update(expires_at=now() - timedelta(seconds=1))
    assert api_token_authenticate(created.raw_token) is None


def test_at_most_two_tokens_are_ever_live(created):
    raws = [created.raw_token]
    for _ in range(3):
        raws.append(
            integration_rotate_token(
                integration=created.integration, overlap=timedelta(hours=24)
            ).raw
        )
    account = created.integration.service_account
    assert live_tokens(account).count() == 2
    assert [api_token_authenticate(r) is not None for r in raws] == [False, False, True, True]


@pytest.mark.parametrize("overlap", [timedelta(hours=25), timedelta(seconds=-1)])
def test_overlap_is_bounded(created, overlap):
    with pytest.raises(DomainError, match="between 0 and 24 hours"):
        integration_rotate_token(integration=created.integration, overlap=overlap)


def test_revoke_stops_every_token(created):
    new = integration_rotate_token(integration=created.integration, overlap=timedelta(hours=1))
    assert integration_revoke_tokens(integration=created.integration) == 2
    assert api_token_authenticate(created.raw_token) is None
    assert api_token_authenticate(new.raw) is None


def test_optional_expiry_applies_to_every_issued_token(tenant):
    created = integration_create(tenant=tenant, name="Expiring", token_lifetime_days=90)
    token = ApiToken.objects.get(service_account=created.integration.service_account)
    assert timedelta(days=89) < token.expires_at - now() <= timedelta(days=90)
    rotated = integration_rotate_token(integration=created.integration)
    assert rotated.token.expires_at is not None


def test_the_list_warns_before_expiry(admin_client, tenant):
    integration_create(tenant=tenant, name="Never")
    integration_create(tenant=tenant, name="Soon", token_lifetime_days=10)
    integration_create(tenant=tenant, name="Later", token_lifetime_days=365)
    gone = integration_create(tenant=tenant, name="Gone").integration
    integration_revoke_tokens(integration=gone)
    html = admin_client.get(
        reverse("admin:provisioning_provisioningintegration_changelist")
    ).content.decode()
    assert "never expires" in html
    assert 'class="token-state expiring">expires in 10 days' in html
    assert 'class="token-state valid">expires in 365 days' in html
    assert 'class="token-state expired">no valid token' in html


def test_admin_rotation_with_overlap_and_revocation(admin_client, created):
    url = reverse(
        "admin:provisioning_provisioningintegration_rotate_token", args=[created.integration.pk]
    )
    response = admin_client.post(url, {"overlap_hours": "24"}, follow=True)
    assert response.status_code == 200
    assert "keeps working for 24 more hours" in response.content.decode()
    assert api_token_authenticate(created.raw_token) is not None
    refused = admin_client.post(url, {"overlap_hours": "48"}, follow=True)
    assert "Choose an overlap of none, 1 hour or 24 hours." in refused.content.decode()
    assert live_tokens(created.integration.service_account).count() == 2  # nothing rotated
    revoke = reverse(
        "admin:provisioning_provisioningintegration_revoke_tokens", args=[created.integration.pk]
    )
    admin_client.post(revoke)
    assert not live_tokens(created.integration.service_account).exists()


def test_commands(tenant):
    data = json.loads(
        run(
            "integration",
            "create",
            "--tenant",
            "main",
            "--name",
            "A",
            "--token-lifetime-days",
            "30",
            "--json",
        )
    )
    assert ApiToken.objects.get().expires_at is not None
    rotated = json.loads(
        run("integration", "rotate-token", data["id"], "--overlap-hours", "1", "--json")
    )
    assert (
        api_token_authenticate(data["token"]) is not None
        and api_token_authenticate(rotated["token"]) is not None
    )
    assert json.loads(run("integration", "revoke-tokens", data["id"], "--json"))["revoked"] == 2
    assert api_token_authenticate(rotated["token"]) is None
    with pytest.raises(CommandError, match="between 0 and 24 hours"):
        run("integration", "rotate-token", data["id"], "--overlap-hours", "25")


def test_last_used_is_shown_on_the_change_page(admin_client, scim):
    scim.get("/ServiceProviderConfig")
    url = reverse("admin:provisioning_provisioningintegration_change", args=[scim.integration.pk])
    html = admin_client.get(url).content.decode()
    assert "last used never" not in html
