"""Bulk seeding for the benchmarks: rows are written directly, not through the API."""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.utils.timezone import now

from kestra_iam.models import Group, GroupMembership, Tenant, TenantAccess, User, UserValue
from provisioning.services import integration_create

BATCH = 10_000


def user_name(tenant_id: str, n: int) -> str:
    return f"user{n}@{tenant_id}.example.com"


def seed_tenant(tenant_id: str, users: int) -> dict:
    """A tenant with an integration and `users` users (each with a work email and externalId)."""
    tenant = Tenant.objects.create(id=tenant_id, name=tenant_id)
    created = integration_create(tenant=tenant, name="Benchmark")
    stamp = now()
    for start in range(0, users, BATCH):
        with transaction.atomic():
            rows = []
            for n in range(start, min(start + BATCH, users)):
                name = user_name(tenant_id, n)
                rows.append(
                    User(
                        id=uuid.uuid4(),
                        user_name=name,
                        user_name_key=name,
                        password="!",
                        primary_tenant=tenant,
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
            User.objects.bulk_create(rows, batch_size=BATCH)
            accesses = TenantAccess.objects.bulk_create(
                [
                    TenantAccess(tenant=tenant, user=u, external_id=f"ext-{start + i}", active=True,
                                 display_name=f"User {start + i}", name_given_name="User",
                                 name_family_name=str(start + i), created_at=stamp,
                                 updated_at=stamp)
                    for i, u in enumerate(rows)
                ],
                batch_size=BATCH,
            )  # fmt: skip
            UserValue.objects.bulk_create(
                [
                    UserValue(
                        access=a, attribute="emails", position=0, value=a.user.user_name,
                        value_key=a.user.user_name, type="work", primary=True,
                    )
                    for a in accesses
                ],
                batch_size=BATCH,
            )  # fmt: skip
    return {
        "tenant": tenant_id,
        "integration": str(created.integration.pk),
        "token": created.raw_token,
    }


def seed_group(tenant_id: str, name: str, *, members: range | None = None) -> str:
    """A group whose members are the users with those numbers (by creation order)."""
    group = Group.objects.create(tenant_id=tenant_id, display_name=name)
    if members:
        access_ids = list(
            TenantAccess.objects.filter(tenant_id=tenant_id)
            .order_by("pk")
            .values_list("pk", flat=True)[members.start : members.stop]
        )
        for start in range(0, len(access_ids), BATCH):
            GroupMembership.objects.bulk_create(
                [
                    GroupMembership(group=group, access_id=a)
                    for a in access_ids[start : start + BATCH]
                ],
                batch_size=BATCH,
            )
    return str(group.pk)


def seed_many_groups(tenant_id: str, count: int, members_each: int) -> None:
    access_ids = list(
        TenantAccess.objects.filter(tenant_id=tenant_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:members_each]
    )
    groups = Group.objects.bulk_create(
        [
            Group(
                tenant_id=tenant_id, display_name=f"Team {n:04d}", display_name_key=f"team {n:04d}"
            )
            for n in range(count)
        ]
    )
    GroupMembership.objects.bulk_create(
        [GroupMembership(group=g, access_id=a) for g in groups for a in access_ids],
        batch_size=BATCH,
    )


def user_ids(tenant_id: str, numbers: range) -> list[str]:
    ids = (
        TenantAccess.objects.filter(tenant_id=tenant_id)
        .order_by("pk")
        .values_list("user_id", flat=True)
    )
    return [str(i) for i in ids[numbers.start : numbers.stop]]


def analyse() -> None:
    """Statistics for the planner, as a production database would have them after seeding."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
