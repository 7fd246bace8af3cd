"""Shared fixtures (style.md §9)."""

import pytest
from django.db import connection

from tests.factories import ServiceAccountFactory, TenantFactory, UserFactory

ADMIN_PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are skipped, with the reason, when the suite runs on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/kestra_iam"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def tenant(db):
    return TenantFactory(id="main", name="Main")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(id="other", name="Other")


@pytest.fixture
def service_account(tenant):
    return ServiceAccountFactory(tenant=tenant)


@pytest.fixture
def admin_user(db):
    return UserFactory(user_name="admin", is_staff=True, is_superuser=True)
