"""Who owns a global user's profile: the site, the tenant of the oldest access, or nobody."""

import pytest

from kestra_iam.ownership import is_administrator, may_write_profile, profile_owner
from tests.factories import TenantAccessFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_owner_is_the_tenant_of_the_oldest_access_and_passes_on():
    first, second, third = (TenantFactory(id=name) for name in ("first", "second", "third"))
    user = UserFactory(site_managed=False)
    assert profile_owner(user).tenant_id is None  # nobody: the next to provision takes it
    accesses = [TenantAccessFactory(user=user, tenant=t) for t in (first, second, third)]
    assert profile_owner(user).tenant_id == "first"
    accesses[0].delete()
    assert profile_owner(user).tenant_id == "second"
    assert may_write_profile(user=user, tenant=second, owner_tenant_id="second")
    assert not may_write_profile(user=user, tenant=third, owner_tenant_id="second")
    assert may_write_profile(user=user, tenant=third, owner_tenant_id=None)


def test_site_managed_users_are_written_by_no_tenant_even_when_profiles_are_shared(settings):
    settings.SCIM_SHARED_PROFILES = True
    tenant = TenantFactory(id="t")
    person = UserFactory()  # made outside SCIM: site-managed by default
    TenantAccessFactory(user=person, tenant=tenant)
    assert profile_owner(person).site and "this site" in str(profile_owner(person))
    assert not may_write_profile(user=person, tenant=tenant, owner_tenant_id="t")
    provisioned = UserFactory(site_managed=False)
    assert may_write_profile(user=provisioned, tenant=tenant, owner_tenant_id="elsewhere")


def test_administrators():
    assert is_administrator(UserFactory(is_staff=True))
    assert is_administrator(UserFactory(is_superuser=True))
    assert not is_administrator(UserFactory())
