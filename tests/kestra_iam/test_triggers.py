"""The database holds exactly the triggers `kestra_iam.db.triggers` describes: the migrations run
frozen SQL, so a change to the live description without a migration that makes it so fails
here; and a migration that rebuilds a table on SQLite (dropping its triggers) is noticed."""

import re

import pytest
from django.db import connection

from kestra_iam.db.triggers import POSTGRESQL_FUNCTIONS, trigger_tables
from provisioning.triggers import INTEGRATION_GENERATION_TRIGGERS

pytestmark = pytest.mark.django_db


def normalised(sql: str) -> str:
    """Without comments and with single spaces: what the SQL says, not how it is laid out."""
    return re.sub(r"\s+", " ", re.sub(r"--[^\n]*", "", sql)).strip()


def test_every_trigger_is_there_and_no_other():
    expected = set(trigger_tables(connection.vendor, INTEGRATION_GENERATION_TRIGGERS).items())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
            )
        else:
            cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        present = set(cursor.fetchall())
    assert present == expected, (expected - present, present - expected)


@pytest.mark.postgres
def test_every_function_is_what_the_module_says():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc WHERE proname = ANY(%s)",
            [list(POSTGRESQL_FUNCTIONS)],
        )
        stored = dict(cursor.fetchall())
    assert set(stored) == set(POSTGRESQL_FUNCTIONS)
    for name, body in POSTGRESQL_FUNCTIONS.items():
        assert normalised(stored[name]) == normalised(body), name
