"""`manage.py profile`: a user's profiles per tenant, and the site's choice of the primary one."""

import pytest
from django.core.management.base import CommandError

from kestra_iam.models import AuditEvent
from tests.commands import run, run_json
from tests.factories import TenantAccessFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(tenant, other_tenant):
    user = UserFactory(user_name="ada@example.com", primary_tenant=tenant)
    TenantAccessFactory(user=user, tenant=tenant, display_name="Ada (main)")
    TenantAccessFactory(user=user, tenant=other_tenant, display_name="Ada (other)", active=False)
    return user


def test_list_shows_each_tenants_profile_and_the_primary_one(ada):
    assert run("profile", "list", "--user", "ADA@example.com").splitlines() == [
        "main\tAda (main) (primary)",
        "other\tAda (other) (disabled)",
    ]
    listed = run_json("profile", "list", "--user", "ada@example.com")
    assert listed["primary_tenant"] == "main"
    assert [p["tenant"] for p in listed["profiles"] if p["primary"]] == ["main"]


def test_make_primary_hands_it_over_and_is_audited(ada):
    out = run_json("profile", "make-primary", "--tenant", "other", "--user", "ada@example.com")
    assert out == {"user": "ada@example.com", "primary_tenant": "other"}
    ada.refresh_from_db()
    assert ada.primary_tenant_id == "other"
    event = AuditEvent.objects.get(action="command.profile.make_primary")
    assert (event.tenant_id, event.resource_id) == ("other", str(ada.pk))


def test_a_tenant_without_a_profile_or_an_unknown_user_is_refused(ada):
    TenantFactory(id="third")
    with pytest.raises(CommandError, match="no profile in tenant third"):
        run("profile", "make-primary", "--tenant", "third", "--user", "ada@example.com")
    with pytest.raises(CommandError, match=r"no user 'nobody@example\.com'"):
        run("profile", "list", "--user", "nobody@example.com")
    ada.refresh_from_db()
    assert ada.primary_tenant_id == "main" and not AuditEvent.objects.exists()
