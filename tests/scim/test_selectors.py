"""The SCIM read selectors, called directly: scoping, paging, what they load, and the member
budget of group lists."""

import pytest

from kestra_iam.models import GroupMembership, TenantAccess
from scim.conf import SCIMSettings
from scim.exceptions import InvalidFilter, InvalidValue
from scim.selectors import (
    ListQuery,
    parse_list_query,
    scim_group_get,
    scim_group_has_more_members_than,
    scim_group_list,
    scim_group_member_counts,
    scim_group_member_rows,
    scim_group_member_stream,
    scim_user_get,
    scim_user_list,
)
from tests.factories import GroupFactory, TenantAccessFactory, UserFactory, UserValueFactory

pytestmark = pytest.mark.django_db

SETTINGS = SCIMSettings()


def test_list_queries_read_their_parameters_and_clamp(settings):
    query = parse_list_query(
        {"startIndex": "0", "count": "5000", "sortOrder": "DESCENDING"}, SETTINGS
    )
    assert (query.start_index, query.count, query.sort_order) == (1, 200, "descending")
    assert parse_list_query({}, SETTINGS).count == 100
    for bad in ({"count": "many"}, {"startIndex": "3000000000"}, {"sortOrder": "up"}):
        with pytest.raises(InvalidValue):
            parse_list_query(bad, SETTINGS)


def test_user_reads_see_only_the_tenants_accesses(tenant, other_tenant):
    mine = TenantAccessFactory(tenant=tenant, user=UserFactory(user_name="mine@example.com"))
    theirs = TenantAccessFactory(tenant=other_tenant, user=UserFactory(user_name="t@example.com"))
    page = scim_user_list(
        tenant=tenant, query=ListQuery(count=10), settings=SETTINGS, values=False, groups=False
    )
    assert [read.access.pk for read in page.items] == [mine.pk] and page.total == 1
    assert scim_user_get(tenant=tenant, user_id=str(theirs.user_id)) is None
    assert scim_user_get(tenant=tenant, user_id="not-a-uuid") is None
    with pytest.raises(InvalidFilter):
        scim_user_list(
            tenant=tenant,
            query=ListQuery(filter="nosuch eq 1", count=10),
            settings=SETTINGS,
            values=False,
            groups=False,
        )


def test_user_details_are_loaded_only_when_asked(tenant, django_assert_num_queries):
    user = UserFactory(user_name="d@example.com")
    access = TenantAccessFactory(tenant=tenant, user=user)
    UserValueFactory(access=access, value="d@example.com")
    with django_assert_num_queries(1):
        bare = scim_user_get(tenant=tenant, user_id=str(user.pk), values=False, groups=False)
    assert bare.values == [] and bare.manager is None
    full = scim_user_get(tenant=tenant, user_id=str(user.pk), managers=True)
    assert full.values[0][:2] == ("emails", "d@example.com")
    assert full.manager is None
    manager = TenantAccessFactory(tenant=tenant, display_name="Boss")
    access.manager = manager
    access.save()
    full = scim_user_get(tenant=tenant, user_id=str(user.pk), managers=True)
    assert full.manager == (manager.user_id, "Boss")  # named as this tenant names them


def test_group_reads_members_counts_and_budget(tenant):
    small, large = (
        GroupFactory(tenant=tenant, display_name="A"),
        GroupFactory(tenant=tenant, display_name="B"),
    )
    accesses = [TenantAccessFactory(tenant=tenant) for _ in range(5)]
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=small, access=accesses[0])]
        + [GroupMembership(group=large, access=a) for a in accesses]
    )
    assert scim_group_member_counts([small.pk, large.pk]) == {small.pk: 1, large.pk: 5}
    assert [row[1] for row in scim_group_member_rows([small.pk])] == [accesses[0].user_id]
    assert scim_group_has_more_members_than(large, 4) and not scim_group_has_more_members_than(
        large, 5
    )
    streamed = list(scim_group_member_stream(large.pk, chunk=2))  # three chunks: 2, 2, 1
    assert [row[1] for row in streamed] == [a.user_id for a in accesses]
    assert list(scim_group_member_stream(large.pk, chunk=5)) == streamed  # an exact multiple
    budget = SCIMSettings(list_max_members=3)
    page = scim_group_list(tenant=tenant, query=ListQuery(count=10), settings=budget, members=True)
    assert [g.pk for g in page.items] == [small.pk] and page.total == 2  # B would exceed 3
    page = scim_group_list(
        tenant=tenant, query=ListQuery(start_index=2, count=10), settings=budget, members=True
    )
    assert [g.pk for g in page.items] == [large.pk]  # alone, however large
    assert scim_group_get(tenant=tenant, group_id=str(large.pk)) == large
    assert scim_group_get(tenant="other", group_id=str(large.pk)) is None
    assert TenantAccess.objects.count() == 5
