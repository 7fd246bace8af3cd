"""Group memberships written as deltas, in one statement each, however many members.

Each statement returns the accesses it actually added or removed, so that the caller can say
what changed (the audit trail names them) without a read before or after. Both vendors run the
same shape: an `INSERT … SELECT` over an array (PostgreSQL) or a JSON list (SQLite), and a
`DELETE … RETURNING`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.utils.timezone import now

from kestra_iam.db import piggyback
from kestra_iam.models import Group, GroupMembership


def _table() -> str:
    return connection.ops.quote_name(GroupMembership._meta.db_table)


def _group_param(group: Group):
    return Group._meta.pk.get_db_prep_value(group.pk, connection)


def memberships_insert(group: Group, access_ids: Iterable[int]) -> list[int]:
    """Add these accesses to the group; returns those that were not members already.

    A member already present (or added concurrently) is skipped by the unique constraint
    instead of failing the request. On PostgreSQL the foreign keys are checked at the insert,
    not at COMMIT (Django declares them DEFERRABLE INITIALLY DEFERRED), so an access deleted
    concurrently raises IntegrityError here, where the caller can answer it.
    """
    ids = sorted(set(access_ids))
    if not ids:
        return []
    table = _table()
    created_at = GroupMembership._meta.get_field("created_at").get_db_prep_value(now(), connection)
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} (group_id, access_id, created_at) "
            "SELECT %s, unnest(%s::bigint[]), %s ON CONFLICT (group_id, access_id) DO NOTHING "
            "RETURNING access_id"
        )
        params = [_group_param(group), ids, created_at]
        piggyback.send_with_next_query("SET CONSTRAINTS ALL IMMEDIATE")
    else:
        sql = (
            # The table name comes from model metadata; every value is a bound parameter.
            f"INSERT OR IGNORE INTO {table} (group_id, access_id, created_at) "  # noqa: S608
            "SELECT %s, value, %s FROM json_each(%s) RETURNING access_id"
        )
        params = [_group_param(group), created_at, json.dumps(ids)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


# Which members a delete removes: these, or all but these (`keep`), by vendor.
_DELETE_WHERE = {
    ("postgresql", False): "access_id = ANY(%s::bigint[])",
    ("postgresql", True): "access_id <> ALL(%s::bigint[])",
    ("sqlite", False): "access_id IN (SELECT value FROM json_each(%s))",
    ("sqlite", True): "access_id NOT IN (SELECT value FROM json_each(%s))",
}


def memberships_delete(group: Group, access_ids: Iterable[int], *, keep: bool = False) -> list[int]:
    """Remove these accesses from the group — or, with `keep`, every member but them (a
    replacement of the member list); returns the accesses removed."""
    ids = sorted(set(access_ids))
    if not ids and not keep:
        return []
    sql = f"DELETE FROM {_table()} WHERE group_id = %s"  # noqa: S608 (metadata, no value)
    params = [_group_param(group)]
    if ids:
        sql += " AND " + _DELETE_WHERE[(connection.vendor, keep)]
        params.append(ids if connection.vendor == "postgresql" else json.dumps(ids))
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING access_id", params)
        return [row[0] for row in cursor.fetchall()]
