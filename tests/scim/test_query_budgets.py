"""Query budgets: the number of SQL queries per request does not grow with the data."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kestra_iam.models import AuthGeneration, TenantAccess, User

pytestmark = pytest.mark.django_db

# Per request: token (with account, tenant and integration), the role bindings, then the work.
GET_USER = 5  # + the user row, its multi-valued attributes, its group memberships
LIST_PAGE = 6  # + count, the page, multi-valued attributes, memberships
POST_USER = 12
# token, bindings, group lock, member resolution, (PostgreSQL: SET CONSTRAINTS), insert or
# delete, version update, audit event — and the last-request/last-used writes once a minute.
PATCH_MEMBERS = 11


def bulk_users(tenant, count):
    users = User.objects.bulk_create(
        [
            User(user_name=f"bulk{i}@example.com", user_name_key=f"bulk{i}@example.com")
            for i in range(count)
        ]
    )
    TenantAccess.objects.bulk_create([TenantAccess(tenant=tenant, user=u) for u in users])
    return [str(u.pk) for u in users]


def queries(call):
    with CaptureQueriesContext(connection) as context:
        response = call()
    assert response.status_code < 300, response.content
    return len(context)


def test_get_one_user(scim, django_assert_max_num_queries):
    user = scim.create_user(
        "q@example.com",
        emails=[{"value": "a@b.c"}, {"value": "d@e.f"}],
        phoneNumbers=[{"value": "1"}],
    )
    scim.get("/Users")  # warm the last-request write
    with django_assert_max_num_queries(GET_USER):
        assert scim.get(f"/Users/{user['id']}").status_code == 200


def test_a_filtered_list_page_costs_the_same_whatever_the_number_of_users(scim, tenant):
    def page_cost():
        return queries(lambda: scim.get('/Users?filter=userName sw "bulk"&count=100'))

    bulk_users(tenant, 5)
    scim.get("/Users")
    short_page = page_cost()  # the last page: totalResults is known without a COUNT
    more = User.objects.bulk_create(
        [
            User(user_name=f"bulkx{i}@example.com", user_name_key=f"bulkx{i}@example.com")
            for i in range(295)
        ]
    )
    TenantAccess.objects.bulk_create([TenantAccess(tenant=tenant, user=u) for u in more])
    full_page = page_cost()
    assert short_page < full_page <= LIST_PAGE


def test_post_user(scim, django_assert_max_num_queries):
    scim.get("/Users")
    with django_assert_max_num_queries(POST_USER):
        scim.create_user("new@example.com", emails=[{"value": "new@example.com", "type": "work"}])


@pytest.mark.django_db(transaction=True)
def test_posting_a_new_user_is_one_write_round_trip_on_postgresql(scim):
    """Outside a test's transaction, as in production: the user, its values, its access and the
    audit event travel as one message, behind the check of the cached principal's generation;
    no lookup, no BEGIN, no COMMIT."""
    AuthGeneration.objects.get_or_create(pk=AuthGeneration.ROW)  # an earlier flush removed it
    scim.get("/Users")  # warm the last-request write
    with CaptureQueriesContext(connection) as context:
        created = scim.create_user("once@example.com", emails=[{"value": "once@example.com"}])
    statements = [q["sql"] for q in context.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1, statements
        assert statements[0].startswith("SELECT kestra_iam_expect_generation(")
        assert statements[0].count("INSERT INTO") == 4
    (access,) = TenantAccess.objects.filter(user_id=created["id"])
    assert access.values.get().value == "once@example.com"
    assert User.objects.get(pk=created["id"]).primary_tenant_id == access.tenant_id


def test_patch_group_members_costs_the_same_for_1_or_1000_members(scim, tenant):
    ids = bulk_users(tenant, 1000)
    scim.get("/Users")

    def member_patch_costs(members):
        group = scim.create_group(f"Group of {len(members)}")["id"]
        value = [{"value": i} for i in members]
        add = queries(
            lambda: scim.patch_ops(
                f"/Groups/{group}", {"op": "add", "path": "members", "value": value}
            )
        )
        remove = queries(
            lambda: scim.patch_ops(
                f"/Groups/{group}", {"op": "Remove", "path": "members", "value": value}
            )
        )
        return add, remove

    one = member_patch_costs(ids[:1])
    thousand = member_patch_costs(ids)
    assert one == thousand
    assert max(one) <= PATCH_MEMBERS
