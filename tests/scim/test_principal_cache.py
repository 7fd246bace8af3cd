"""The authenticated-principal cache: a hit skips the token query, and every change that decides
who may call what takes effect on the very next request — whatever wrote it."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from kestra_iam.models import ApiToken, AuthGeneration, Binding, Role
from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_rotate_token

pytestmark = pytest.mark.django_db


def token_queries(scim) -> int:
    with CaptureQueriesContext(connection) as context:
        assert scim.get("/Users").status_code == 200
    return sum("kestra_iam_apitoken" in q["sql"] for q in context.captured_queries)


def test_a_warm_cache_skips_the_token_query(scim):
    assert token_queries(scim) >= 1
    assert token_queries(scim) == 0


@pytest.mark.parametrize(
    "change, status",
    [
        (lambda s: ApiToken.objects.update(revoked_at=now()), 401),
        (lambda s: ProvisioningIntegration.objects.update(enabled=False), 403),
        (lambda s: Role.objects.update(permissions={"GROUPS": ["READ"]}), 403),
        (lambda s: Binding.objects.filter(service_account__isnull=False).delete(), 403),
        (lambda s: Role.objects.all().delete(), 403),
    ],
    ids=[
        "token revoked",
        "integration disabled",
        "role narrowed",
        "binding removed",
        "role deleted",
    ],
)
def test_changes_written_any_way_apply_to_the_next_request(scim, change, status):
    assert scim.get("/Users").status_code == 200  # cached now
    change(scim)  # bulk writes, bypassing every service
    assert scim.get("/Users").status_code == status


def test_a_rotated_token_stops_at_once(scim):
    assert scim.get("/Users").status_code == 200
    integration_rotate_token(integration=scim.integration)
    assert scim.get("/Users").status_code == 401


def test_expiry_is_checked_on_every_hit(scim):
    ApiToken.objects.update(expires_at=now() + timedelta(seconds=1))
    assert scim.get("/Users").status_code == 200  # cached, with its expiry
    time.sleep(1.1)
    assert scim.get("/Users").status_code == 401


def test_bookkeeping_writes_do_not_invalidate(scim):
    scim.get("/Users")
    before = AuthGeneration.current()
    ApiToken.objects.update(last_used_at=now() - timedelta(hours=1))
    ProvisioningIntegration.objects.update(last_request_at=None)
    Binding.objects.filter(user__isnull=False).delete()
    assert AuthGeneration.current() == before
