"""Compiled queries and inserts give exactly what the ORM gives, with fewer compilations."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from kestra_iam.db.compiled import (
    CompiledInsert,
    CompiledQuery,
    insert_atomically,
    insert_together,
    signal_name,
)
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
    user = UserFactory.build(user_name="Compiled@Example.com", primary_tenant=tenant)
    user.sync_canonical_keys()
    CompiledInsert(User).insert(user)
    stored = User.objects.get(pk=user.pk)
    assert stored.user_name_key == "compiled@example.com" and stored.primary_tenant_id == "main"
    assert stored.created_at == user.created_at and stored.updated_at is not None
    access = TenantAccess(tenant=tenant, user=user, external_id="x")
    CompiledInsert(TenantAccess).insert(access)
    assert access.pk == TenantAccess.objects.get().pk  # the auto key came back


def test_a_compiled_insert_refuses_a_model_with_receivers(tenant):
    """Its receivers would not run: refused rather than skipped in silence."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db.models.signals import post_save, pre_save

    def receiver(**kwargs):
        raise AssertionError("never called: the insert is refused first")

    for signal in (post_save, pre_save):
        signal.connect(receiver, sender=User, dispatch_uid="test-compiled")
        try:
            user = UserFactory.build(user_name=f"{signal_name(signal)}@example.com")
            user.sync_canonical_keys()
            with pytest.raises(ImproperlyConfigured, match=f"User has {signal_name(signal)}"):
                CompiledInsert(User).insert(user)
        finally:
            signal.disconnect(sender=User, dispatch_uid="test-compiled")
    assert not User.objects.exists()


def test_a_compiled_insert_refuses_an_expression_value(tenant):
    from django.db.models.functions import Now

    user = UserFactory.build(user_name="expr@example.com", primary_tenant=tenant)
    user.sync_canonical_keys()
    user.created_at = Now()
    with pytest.raises(TypeError, match=r"User\.created_at is an expression"):
        CompiledInsert(User).insert(user)
    assert not User.objects.exists()


def test_inserts_together_are_one_round_trip_on_postgresql(tenant, other_tenant):
    """Values follow the access inserted before them, whose key the database assigns: each
    lands on its own access, in the one message."""
    user = UserFactory.build(user_name="together@example.com")
    user.sync_canonical_keys()
    first, second = (TenantAccess(tenant=t, user=user) for t in (tenant, other_tenant))
    values = {
        access.tenant_id: [
            UserValue(access=access, attribute="emails", position=n, value=f"{n}@{access.tenant}")
            for n in range(2)
        ]
        for access in (first, second)
    }
    event = AuditEvent(action="x", outcome=200, actor_type="admin", actor="a")
    value_insert = CompiledInsert(UserValue, follows="access")
    rows = [
        (CompiledInsert(User), user),
        (CompiledInsert(TenantAccess), first),
        *((value_insert, value) for value in values["main"]),
        (CompiledInsert(TenantAccess), second),
        *((value_insert, value) for value in values["other"]),
        (CompiledInsert(AuditEvent), event),
    ]
    with CaptureQueriesContext(connection) as context:
        insert_together(rows)
    assert len(context) == (1 if connection.vendor == "postgresql" else len(rows))
    assert event.pk == AuditEvent.objects.get().pk
    stored = set(UserValue.objects.values_list("access__tenant_id", "value"))
    assert stored == {("main", "0@main"), ("main", "1@main"), ("other", "0@other"),
                      ("other", "1@other")}  # fmt: skip
    assert {v.access_id for v in values["other"]} == {second.pk} != {first.pk}


def test_only_a_key_the_database_assigns_can_be_followed():
    with pytest.raises(ValueError, match="a key the database assigns"):
        CompiledInsert(TenantAccess, follows="user")


def _user_rows_then_a_duplicate(tenant, name):
    """A new user, its access and an audit event, then a second user with the same userName."""
    user = UserFactory.build(user_name=name)
    twin = UserFactory.build(user_name=name.upper())
    for each in (user, twin):
        each.sync_canonical_keys()
    return [
        (CompiledInsert(User), user),
        (CompiledInsert(TenantAccess), TenantAccess(tenant=tenant, user=user)),
        (CompiledInsert(AuditEvent), AuditEvent(action="x", outcome=201, actor_type="admin")),
        (CompiledInsert(User), twin),
    ]


@pytest.mark.django_db(transaction=True)
def test_inserts_atomically_outside_a_transaction_are_all_or_none(tenant):
    with CaptureQueriesContext(connection) as context, pytest.raises(IntegrityError):
        insert_atomically(_user_rows_then_a_duplicate(tenant, "twin@example.com"))
    assert not User.objects.exists() and not TenantAccess.objects.exists()
    assert not AuditEvent.objects.exists()
    if connection.vendor == "postgresql":  # one message, the server's implicit transaction
        assert [q["sql"].split()[0] for q in context.captured_queries] == ["INSERT"]
    rows = _user_rows_then_a_duplicate(tenant, "single@example.com")[:3]
    insert_atomically(rows)
    assert User.objects.get().user_name == "single@example.com"
    assert TenantAccess.objects.count() == AuditEvent.objects.count() == 1


def test_inserts_atomically_in_a_transaction_leave_it_usable(tenant):
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_atomically(_user_rows_then_a_duplicate(tenant, "inner@example.com"))
        assert not User.objects.exists()  # the savepoint took them back; the query works
        UserFactory(user_name="after@example.com")
    assert list(User.objects.values_list("user_name", flat=True)) == ["after@example.com"]


def test_a_statement_can_lead_inserts_in_their_round_trip(tenant):
    user = UserFactory(user_name="lead@example.com")
    update = (
        'UPDATE "kestra_iam_user" SET "user_name" = %s WHERE "id" = %s',
        ["led@example.com", User._meta.pk.get_db_prep_value(user.pk, connection)],
    )
    event = AuditEvent(action="x", outcome=200, actor_type="admin", actor="a")
    with CaptureQueriesContext(connection) as context:
        insert_together([(CompiledInsert(AuditEvent), event)], first=update)
    assert len(context) == (1 if connection.vendor == "postgresql" else 2)
    assert User.objects.get(pk=user.pk).user_name == "led@example.com"
    assert event.pk == AuditEvent.objects.get().pk
