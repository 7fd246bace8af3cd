"""Compiled queries and inserts give exactly what the ORM gives, with fewer compilations."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kestra_iam.compiled import CompiledInsert, CompiledQuery, insert_together
from kestra_iam.models import AuditEvent, TenantAccess, User, UserValue
from tests.factories import TenantAccessFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_compiled_query_returns_the_orm_rows_for_any_values(tenant):
    accesses = [TenantAccessFactory(tenant=tenant) for _ in range(3)]
    query = CompiledQuery(
        lambda tenant_id, user_id: (
            TenantAccess.objects.filter(tenant_id=tenant_id, user_id=user_id)
            .order_by("pk")
            .values_list("pk", "user_id", "user__user_name", "created_at")
        ),
        [TenantAccess._meta.get_field("tenant"), TenantAccess._meta.get_field("user")],
    )
    for access in accesses:
        expected = list(
            TenantAccess.objects.filter(tenant_id="main", user_id=access.user_id)
            .order_by("pk")
            .values_list("pk", "user_id", "user__user_name", "created_at")
        )
        assert query.rows("main", access.user_id) == expected
    assert query.rows("other", accesses[0].user_id) == []


def test_markers_must_be_plain_parameters():
    query = CompiledQuery(
        lambda name: User.objects.filter(user_name__startswith=name).values_list("pk"),
        [User._meta.get_field("user_name")],
    )
    with pytest.raises(ValueError, match="not plain parameters"):
        query.rows("x")


def test_a_compiled_insert_writes_what_save_writes(tenant):
    user = UserFactory.build(user_name="Compiled@Example.com", site_managed=False)
    user.sync_canonical_keys()
    CompiledInsert(User).insert(user)
    stored = User.objects.get(pk=user.pk)
    assert stored.user_name_key == "compiled@example.com" and not stored.site_managed
    assert stored.created_at == user.created_at and stored.updated_at is not None
    access = TenantAccess(tenant=tenant, user=user, external_id="x")
    CompiledInsert(TenantAccess).insert(access)
    assert access.pk == TenantAccess.objects.get().pk  # the auto key came back


def test_inserts_together_are_one_round_trip_on_postgresql(tenant):
    user = UserFactory.build(user_name="together@example.com")
    user.sync_canonical_keys()
    value = UserValue(user=user, attribute="emails", position=0, value="t@example.com")
    access = TenantAccess(tenant=tenant, user=user)
    event = AuditEvent(action="x", outcome=200, actor_type="admin", actor="a")
    rows = [
        (CompiledInsert(User), user),
        (CompiledInsert(UserValue), value),
        (CompiledInsert(TenantAccess), access),
        (CompiledInsert(AuditEvent), event),
    ]
    with CaptureQueriesContext(connection) as context:
        insert_together(rows)
    assert len(context) == (1 if connection.vendor == "postgresql" else 4)
    assert access.pk == TenantAccess.objects.get().pk and event.pk == AuditEvent.objects.get().pk
    assert UserValue.objects.get().value == "t@example.com"
