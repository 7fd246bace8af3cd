"""`AnyOf`: a list compared as one parameter, the same SQL whatever its length."""

import uuid

import pytest
from django.db.models import F

from kestra_iam.db.any_of import AnyOf, ListOf
from kestra_iam.db.compiled import CompiledQuery
from kestra_iam.models import Role, TenantAccess
from tests.factories import TenantAccessFactory

pytestmark = pytest.mark.django_db


def test_it_matches_what_in_matches_for_uuids_integers_and_text(tenant):
    accesses = [TenantAccessFactory(tenant=tenant) for _ in range(4)]
    users = [a.user_id for a in accesses[:2]] + [uuid.uuid4()]
    assert set(
        TenantAccess.objects.filter(AnyOf(F("user_id"), users)).values_list("pk", flat=True)
    ) == {a.pk for a in accesses[:2]}
    roles = list(Role.objects.filter(tenant=tenant).order_by("pk")[:3])
    assert list(Role.objects.filter(AnyOf(F("pk"), [roles[0].pk, roles[2].pk])).order_by("pk")) == [
        roles[0],
        roles[2],
    ]
    assert list(
        Role.objects.filter(AnyOf(F("name"), ["Viewer", "Nobody"])).values_list("name", flat=True)
    ) == ["Viewer"]


def test_an_empty_list_matches_nothing(tenant):
    TenantAccessFactory(tenant=tenant)
    assert not TenantAccess.objects.filter(AnyOf(F("user_id"), [])).exists()


def test_every_length_is_the_same_statement(tenant):
    accesses = [TenantAccessFactory(tenant=tenant) for _ in range(5)]
    statements = set()
    for n in (1, 3, 5):
        queryset = TenantAccess.objects.filter(
            AnyOf(F("user_id"), [a.user_id for a in accesses[:n]])
        )
        assert queryset.count() == n
        statements.add(queryset.query.sql_with_params()[0])
    assert len(statements) == 1
    in_list = {
        TenantAccess.objects.filter(
            user_id__in=[a.user_id for a in accesses[:n]]
        ).query.sql_with_params()[0]
        for n in (1, 3)
    }
    assert len(in_list) == 2  # what AnyOf is for: IN writes one placeholder per value


def test_a_compiled_query_takes_a_list_slot(tenant):
    accesses = [TenantAccessFactory(tenant=tenant) for _ in range(3)]
    query = CompiledQuery(
        lambda tenant_id, users: (
            TenantAccess.objects.filter(AnyOf(F("user_id"), users), tenant_id=tenant_id)
            .order_by("pk")
            .values_list("pk", flat=False)
        ),
        [TenantAccess._meta.get_field("tenant"), ListOf(TenantAccess._meta.get_field("user"))],
    )
    assert query.rows("main", [a.user_id for a in accesses[1:]]) == [(a.pk,) for a in accesses[1:]]
    assert query.rows("main", []) == []
    assert query.rows("other", [accesses[0].user_id]) == []
