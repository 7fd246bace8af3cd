"""`column IN <a list>` with the whole list as one parameter: one SQL text for every length.

Django writes `IN (%s, %s, …)`, one placeholder per value, so each length is another statement
— another compilation by the ORM, another plan by PostgreSQL, and nothing that
`kestra_iam.db.compiled` can compile once. `AnyOf` sends the list as one value instead: an array on
PostgreSQL (`= ANY(%s)`), a JSON array on SQLite (`IN (SELECT value FROM json_each(%s))`).
Each value is prepared by the column's own field, as `IN` would prepare it (a uuid is native on
PostgreSQL, 32 hex digits on SQLite).

    queryset.filter(AnyOf(F("user_id"), ids))

`ListOf(field)` prepares such a list outside a query, for a `CompiledQuery` slot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import NotSupportedError
from django.db.models import Field, Lookup


def prepared_list(field: Field, values: Iterable, connection) -> object:
    items = [field.get_db_prep_value(value, connection, prepared=False) for value in values]
    if connection.vendor == "postgresql":
        return items
    return json.dumps(items)


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False  # each item is prepared by the column's field, not the list as a whole

    def get_db_prep_lookup(self, value, connection):
        return "%s", [prepared_list(self.lhs.output_field, value, connection)]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        sql = f"{lhs} IN (SELECT value FROM json_each({rhs}))"  # noqa: S608 — both are SQL fragments, values are params
        return sql, (*lhs_params, *rhs_params)

    def as_sql(self, compiler, connection):
        raise NotSupportedError(
            f"AnyOf is written for PostgreSQL and SQLite, not {connection.vendor}."
        )


class ListOf:
    """A `CompiledQuery` slot holding a list compared with `AnyOf` on a column of `field`."""

    def __init__(self, field: Field) -> None:
        self.field = field

    def get_db_prep_value(self, values, connection):
        return prepared_list(self.field, values, connection)

    def compiled_marker(self, marker: object) -> list:
        return [marker]
