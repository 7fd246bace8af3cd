"""A write that takes its time commits nothing once the caller's token was revoked meanwhile.

The request authenticates, then waits (here on a row lock another connection holds, in
production a password hash or any slow step); the token is revoked and that commits; then the
request goes on. Its write is checked against the generation inside its own transaction, by its
audit event (`kestra_iam.authorisation`): nothing is written, and the request, run again with
the token read afresh, is refused like any request of a revoked token.
"""

import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from django.utils.timezone import now

from kestra_iam.models import ApiToken, AuditEvent, AuthGeneration, TenantAccess
from scim.authentication import PRINCIPALS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def generation_row():
    AuthGeneration.objects.get_or_create(pk=AuthGeneration.ROW)
    PRINCIPALS.clear()


def dsn() -> str:
    settings = connection.settings_dict
    return (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"dbname={settings['NAME']} user={settings['USER']}"
    )


def waiting_on_a_lock(deadline: float) -> bool:
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.005)
    return False


@pytest.mark.parametrize("cached", [True, False], ids=["cached principal", "token read"])
def test_a_write_held_past_a_revocation_commits_nothing(scim, cached):
    user = scim.create_user("held@example.com", title="Before")
    if cached:
        assert scim.get(f"/Users/{user['id']}").status_code == 200  # the principal is cached
    else:
        PRINCIPALS.clear()
    successes = AuditEvent.objects.filter(outcome__lt=400).count()
    answers = []

    def patch():
        try:
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "After"}],
            }
            answers.append(scim.patch(f"/Users/{user['id']}", body))
        finally:
            connections.close_all()

    with psycopg.connect(dsn(), autocommit=False) as holder:
        holder.execute("SELECT 1 FROM kestra_iam_user WHERE id = %s FOR UPDATE", [user["id"]])
        request = threading.Thread(target=patch)
        request.start()
        assert waiting_on_a_lock(time.monotonic() + 5), "the PATCH never reached the lock"
        ApiToken.objects.update(revoked_at=now())  # committed while the PATCH waits
        holder.commit()
    request.join(timeout=30)

    assert answers and answers[0].status_code == 401, answers and answers[0].content
    assert TenantAccess.objects.get(user_id=user["id"]).title == "Before"
    assert AuditEvent.objects.filter(outcome__lt=400).count() == successes
