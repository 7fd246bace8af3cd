"""A cached principal's generation, checked by the request's first statement (PostgreSQL).

These tests run outside a test transaction, as requests do in production: there the check
travels with the first query instead of costing one of its own, and fails that query when the
generation moved on. Whatever the change and whatever the request, the change applies to that
very request, and nothing the stale request began is written.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from kestra_iam.db import piggyback
from kestra_iam.models import (
    ApiToken,
    AuditEvent,
    AuthGeneration,
    Binding,
    GroupMembership,
    Role,
    User,
)
from provisioning.models import ProvisioningIntegration
from provisioning.services import integration_rotate_token
from scim.authentication import PRINCIPALS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHECK = "kestra_iam_expect_generation"


@pytest.fixture(autouse=True)
def generation_row():
    """The migration's row (a transactional test's flush removes it)."""
    AuthGeneration.objects.get_or_create(pk=AuthGeneration.ROW)
    PRINCIPALS.clear()
    yield
    assert not connection.__dict__.get("_kestra_iam_piggyback"), "a check was left queued"


def statements(call):
    with CaptureQueriesContext(connection) as context:
        response = call()
    return response, [q["sql"] for q in context.captured_queries]


def bump_generation():
    """A change elsewhere that decides nothing for this token: another tenant's token."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE kestra_iam_authgeneration SET value = value + 1 WHERE id = 1")


def test_a_cached_principal_costs_no_query_of_its_own(scim):
    user = scim.create_user("one@example.com")
    response, sent = statements(lambda: scim.get(f"/Users/{user['id']}"))
    assert response.status_code == 200
    assert len(sent) == 1 and sent[0].startswith(f"SELECT {CHECK}(")


@pytest.mark.parametrize(
    "change, status, discovery",
    [
        (lambda s: ApiToken.objects.update(revoked_at=now()), 401, 401),
        (lambda s: ApiToken.objects.update(expires_at=now() - timedelta(seconds=1)), 401, 401),
        (lambda s: integration_rotate_token(integration=s.integration), 401, 401),
        (lambda s: ProvisioningIntegration.objects.update(enabled=False), 403, 403),
        # Discovery needs only a valid token of an enabled integration.
        (lambda s: Role.objects.update(permissions={"GROUPS": ["READ"]}), 403, 200),
        (lambda s: Binding.objects.filter(service_account__isnull=False).delete(), 403, 200),
    ],
    ids=["revoked", "expired", "rotated", "disabled", "role narrowed", "binding removed"],
)
def test_a_change_applies_to_the_very_next_request_of_every_kind(scim, change, status, discovery):
    user = scim.create_user("seen@example.com")
    group = scim.create_group("Team")
    writes = AuditEvent.objects.filter(outcome__lt=400).count()
    change(scim)
    assert scim.get(f"/Users/{user['id']}").status_code == status
    response = scim.post(
        "/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "no@example.com"},
    )
    assert response.status_code == status
    response = scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
    )
    assert response.status_code == status
    assert scim.get("/ServiceProviderConfig").status_code == discovery  # sends no query
    assert not User.objects.filter(user_name="no@example.com").exists()
    assert not GroupMembership.objects.exists()
    assert AuditEvent.objects.filter(outcome__lt=400).count() == writes


def test_an_unrelated_change_costs_one_more_read_and_the_request_succeeds_once(scim):
    group = scim.create_group("Team")
    user = scim.create_user("member@example.com")
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "after@x.com"}
    for request in (
        lambda: scim.post("/Users", body),
        lambda: scim.patch_ops(
            f"/Groups/{group['id']}",
            {"op": "add", "path": "members", "value": [{"value": user["id"]}]},
        ),
        lambda: scim.get("/ServiceProviderConfig"),
    ):
        bump_generation()
        response, sent = statements(request)
        assert response.status_code < 300, response.content
        assert any("kestra_iam_apitoken" in sql for sql in sent)  # read afresh
    assert User.objects.filter(user_name="after@x.com").count() == 1
    assert GroupMembership.objects.count() == 1
    assert AuditEvent.objects.filter(action="scim.users.create", outcome=201).count() == 2


def test_inside_a_transaction_the_generation_is_read_first(scim):
    """A request served inside someone's transaction (as the suite's other tests are) reads the
    generation on its own: a failed statement would break the enclosing transaction."""
    from django.db import transaction

    scim.get("/Users")
    with transaction.atomic():
        response, sent = statements(lambda: scim.get("/Users"))
    assert response.status_code == 200
    assert sent[0].startswith('SELECT value FROM "kestra_iam_authgeneration"')
    assert not any(CHECK in sql for sql in sent)


def test_the_queue_is_empty_after_a_request_that_failed_before_any_query(scim):
    scim.get("/Users")
    response = scim.post("/Users", "{not json")
    assert response.status_code == 400
    piggyback.flush()  # nothing left to send


def test_a_bump_lost_in_a_failover_is_not_reissued(scim):
    """A bump committed on the old primary and lost with it: the new primary's next bump must
    not produce that value again, or a process could trust a principal cached under it."""

    def value() -> int:
        return AuthGeneration.objects.get(pk=AuthGeneration.ROW).value

    before = value()
    integration_rotate_token(integration=scim.integration)  # a bump ...
    lost = value()
    with connection.cursor() as cursor:  # ... that the promoted standby never received
        cursor.execute("UPDATE kestra_iam_authgeneration SET value = %s WHERE id = 1", [before])
    integration_rotate_token(integration=scim.integration)  # the new primary's next bump
    assert value() not in (before, lost)


def test_the_request_run_again_is_throttled_once_like_any_request(scim, settings):
    """The run again after a changed generation goes through DRF's whole request path: the
    throttles count it (it did not reach them the first time: the check failed during
    authentication), and only once."""
    from django.core.cache import caches

    caches["default"].clear()
    settings.SCIM = {**settings.SCIM, "rate_limit": (3, 60)}
    assert scim.get("/Users").status_code == 200  # 1, and the principal is cached
    # Its token was last used long ago: the next request's authentication writes that, and the
    # check rides with that UPDATE, failing it before the throttles were reached.
    _, principal = PRINCIPALS.latest(scim.token)
    principal.token.last_used_at = now() - timedelta(hours=1)
    bump_generation()
    response, sent = statements(lambda: scim.get("/Users"))  # 2: stale, run again
    assert response.status_code == 200
    assert sent[0].startswith(f"SELECT {CHECK}(") and "last_used_at" in sent[0]
    assert scim.get("/Users").status_code == 200  # 3
    assert scim.get("/Users").status_code == 429  # the stale request counted once, not 0 or 2
    caches["default"].clear()
