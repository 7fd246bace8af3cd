"""Requests refused with an integration's revoked, expired or wrong token are counted, per
integration and reason, and shown on the integration's page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.timezone import now

from kestra_iam.models import ApiToken
from provisioning.models import TokenRefusal
from provisioning.services import integration_revoke_tokens, integration_rotate_token
from tests.conftest import SCIMClient

pytestmark = pytest.mark.django_db


def refusals(scim) -> dict[str, int]:
    return dict(
        TokenRefusal.objects.filter(integration=scim.integration).values_list("reason", "count")
    )


def test_a_rotated_out_token_is_counted_on_one_row_however_many_requests(scim, admin_client):
    assert scim.get("/Users").status_code == 200
    integration_rotate_token(integration=scim.integration)
    for _ in range(25):
        assert scim.get("/Users").status_code == 401
    assert refusals(scim) == {"revoked": 25}
    row = TokenRefusal.objects.get()
    old = scim.token.split("_")[1]
    assert row.last_key.startswith(f"kiam_{old}") and scim.token not in row.last_key
    page = admin_client.get(
        reverse("admin:provisioning_provisioningintegration_change", args=[scim.integration.pk])
    ).content.decode()
    assert "25 requests with a revoked token, last " in page


def test_an_expired_token_and_a_wrong_secret_are_told_apart(scim):
    ApiToken.objects.filter(service_account=scim.integration.service_account).update(
        expires_at=now() - timedelta(minutes=1)
    )
    assert scim.get("/Users").status_code == 401
    key_id = scim.token.split("_")[1]
    forged = SCIMClient(scim.integration, f"kiam_{key_id}_" + "A" * (len(scim.token) - 22))
    assert len(forged.token) == len(scim.token)
    assert forged.get("/Users").status_code == 401
    assert refusals(scim) == {"expired": 1, "wrong_secret": 1}


def test_revoked_tokens_are_counted_and_unknown_ones_are_not(scim):
    integration_revoke_tokens(integration=scim.integration)
    scim.get("/Users")
    unknown = SCIMClient(scim.integration, "kiam_" + "a" * 16 + "_" + "B" * 178)
    assert unknown.get("/Users").status_code == 401
    assert SCIMClient(scim.integration, "nonsense").get("/Users").status_code == 401
    assert refusals(scim) == {"revoked": 1}


def test_a_page_without_refusals_says_none(scim, admin_client):
    page = admin_client.get(
        reverse("admin:provisioning_provisioningintegration_change", args=[scim.integration.pk])
    ).content.decode()
    assert "<dt>Refused tokens</dt>" in page and "requests with" not in page
