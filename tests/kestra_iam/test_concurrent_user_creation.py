"""Concurrent writers cannot create two users whose userNames differ only in case."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import IntegrityError, connection, transaction

from kestra_iam.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_racing_case_variants_leave_exactly_one_user():
    names = [
        f"{'RACE' if i % 2 else 'race'}{'@EXAMPLE.com' if i % 3 else '@example.com'}"
        for i in range(12)
    ]
    barrier = Barrier(len(names))

    def create(name: str) -> str:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                User.objects.create_user(name)
            return "created"
        except IntegrityError:
            return "conflict"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        outcomes = list(pool.map(create, names))

    assert outcomes.count("created") == 1
    assert outcomes.count("conflict") == len(names) - 1
    assert User.objects.filter(user_name_key="race@example.com").count() == 1
