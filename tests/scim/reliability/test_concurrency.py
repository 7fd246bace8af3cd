"""Concurrent requests on PostgreSQL: no duplicate, no lost update, no deadlock, no 5xx.

Requests go over real HTTP to pytest-django's threaded live server, one database connection per
request thread, all released at the same moment by a barrier.
"""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from kestra_iam.models import Group, GroupMembership, TenantAccess, User
from tests.scim.http import EntraClient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def http(live_server, scim):
    return EntraClient(live_server.url + scim.base, scim.token, "default")


def race(count, call):
    barrier = Barrier(count)

    def run(index):
        barrier.wait(timeout=30)
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def outcome(responses):
    statuses = [r.status for r in responses]
    conflicts = [r.json() for r in responses if r.status == 409]
    assert all(c["scimType"] == "uniqueness" for c in conflicts)
    assert not [s for s in statuses if s >= 500], statuses
    return statuses


@pytest.mark.parametrize("variants", [False, True], ids=["identical", "case-variants"])
def test_fifty_concurrent_user_posts_create_one_user(http, variants):
    def post(index):
        name = "Race.User@Example.com"
        if variants:
            name = "".join(
                c.upper() if (index >> (i % 6)) & 1 else c.lower() for i, c in enumerate(name)
            )
        return http.post("/Users", {"userName": name})

    statuses = outcome(race(50, post))
    assert statuses.count(201) == 1 and statuses.count(409) == 49
    assert User.objects.filter(user_name_key="race.user@example.com").count() == 1
    assert TenantAccess.objects.count() == 1


@pytest.mark.parametrize("variants", [False, True], ids=["identical", "case-variants"])
def test_fifty_concurrent_group_posts_create_one_group(http, variants):
    def post(index):
        name = "Platform Team"
        return http.post(
            "/Groups", {"displayName": name.upper() if variants and index % 2 else name}
        )

    statuses = outcome(race(50, post))
    assert statuses.count(201) == 1 and statuses.count(409) == 49
    assert Group.objects.count() == 1


def test_twenty_concurrent_member_adds_lose_nothing(http, scim):
    users = [scim.create_user(f"m{i}@example.com")["id"] for i in range(20)]
    group = scim.create_group("Everyone")["id"]

    def add(index):
        return http.patch(
            f"/Groups/{group}", {"op": "Add", "path": "members", "value": [{"value": users[index]}]}
        )

    assert [r.status for r in race(20, add)] == [204] * 20
    assert GroupMembership.objects.filter(group_id=group).count() == 20


def test_concurrent_add_and_remove_of_one_member_converge(http, scim):
    user = scim.create_user("flip@example.com")["id"]
    group = scim.create_group("Flip")["id"]

    def flip(index):
        op = "Add" if index % 2 == 0 else "Remove"
        return http.patch(
            f"/Groups/{group}", {"op": op, "path": "members", "value": [{"value": user}]}
        )

    for _ in range(5):
        assert [r.status for r in race(10, flip)] == [204] * 10
        assert GroupMembership.objects.filter(group_id=group).count() in (0, 1)
    # Once the racing stops, the last request's intent holds.
    http.patch(f"/Groups/{group}", {"op": "Add", "path": "members", "value": [{"value": user}]})
    assert GroupMembership.objects.filter(group_id=group).count() == 1
    http.patch(f"/Groups/{group}", {"op": "Remove", "path": "members", "value": [{"value": user}]})
    assert GroupMembership.objects.filter(group_id=group).count() == 0


def test_delete_user_while_a_patch_adds_it(http, scim):
    for round_number in range(10):
        user = scim.create_user(f"leaving{round_number}@example.com")["id"]
        groups = [scim.create_group(f"Round {round_number} group {i}")["id"] for i in range(3)]
        scim.patch_ops(
            f"/Groups/{groups[0]}", {"op": "add", "path": "members", "value": [{"value": user}]}
        )

        def act(index, user=user, groups=groups):
            if index == 0:
                return http.delete(f"/Users/{user}")
            return http.patch(
                f"/Groups/{groups[index - 1]}",
                {"op": "Add", "path": "members", "value": [{"value": user}]},
            )

        responses = race(4, act)
        assert not [r.status for r in responses if r.status >= 500], [r.body for r in responses]
        assert responses[0].status == 204
        assert all(r.status in (204, 400) for r in responses[1:]), [
            (r.status, r.body) for r in responses
        ]
        # Consistent end state: the access is gone, and with it every membership.
        assert not TenantAccess.objects.filter(user_id=user).exists()
        assert not GroupMembership.objects.filter(access__user_id=user).exists()


def test_parallel_renames_to_one_name(http, scim):
    a = scim.create_group("Alpha")["id"]
    b = scim.create_group("Beta")["id"]

    def rename(index):
        group = (a, b)[index % 2]
        return http.patch(
            f"/Groups/{group}", {"op": "Replace", "path": "displayName", "value": "Gamma"}
        )

    statuses = [r.status for r in race(10, rename)]
    assert not [s for s in statuses if s >= 500]
    assert Group.objects.filter(display_name_key="gamma").count() == 1
