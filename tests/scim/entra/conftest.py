"""The `entra` fixture: a live server and a client that sends what Entra ID sends, in its
default mode and in flag mode."""

import pytest

from provisioning.selectors import scim_base_path
from provisioning.services import integration_create
from tests.scim.http import EntraClient


@pytest.fixture(params=["default", "flag"])
def entra(request, live_server, transactional_db, tenant):
    created = integration_create(tenant=tenant, name="Microsoft Entra ID")
    base = live_server.url + scim_base_path(
        tenant_id=tenant.pk, integration_id=created.integration.pk
    )
    return EntraClient(base, created.raw_token, request.param)
