"""Querysets compiled to SQL once per process, then run again with other values.

On the hot paths (an identity provider looking a user up, reading one by id) the ORM spends more
time compiling a queryset to SQL than the database spends answering it. A `CompiledQuery` keeps
the ORM as the only author of the SQL — same joins, same quoting, same vendor differences — but
compiles each shape once: the queryset is built with *marker* values standing in for the real
ones, and each later run substitutes the real values for the markers' parameters and applies
the same result converters the ORM would.

Only values that reach the SQL as plain parameters can be markers (equality lookups); a shape
whose SQL changes with a value (an IN list, a LIMIT) is a different CompiledQuery.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.db.models import Field, QuerySet
from django.db.models.signals import post_save, pre_save


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple[int | None, ...]  # for each parameter: which value replaces it, if any
    compiler: object
    converters: dict


class CompiledQuery:
    """`build(*markers)` returns a `values_list` queryset; `fields` say how each value is
    prepared for the database (the model field it is compared with)."""

    def __init__(self, build: Callable[..., QuerySet], fields: Sequence[Field]) -> None:
        self.build = build
        self.fields = tuple(fields)
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def sql_with(self, *values, using: str = "default") -> tuple[str, list]:
        """The SQL and the parameters a run with these values executes (for EXPLAIN)."""
        connection = connections[using]
        compiled = self._compiled.get((using, connection.vendor)) or self._compile(using)
        params = [
            p if slot is None else self.fields[slot].get_db_prep_value(values[slot], connection)
            for p, slot in zip(compiled.params, compiled.slots, strict=True)
        ]
        return compiled.sql, params

    def rows(self, *values, using: str = "default") -> list[tuple]:
        connection = connections[using]
        sql, params = self.sql_with(*values, using=using)
        compiled = self._compiled[(using, connection.vendor)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = [tuple(r) for r in compiled.compiler.apply_converters(rows, compiled.converters)]
        return rows

    def _compile(self, using: str) -> _Compiled:
        connection = connections[using]
        markers = [_marker(field, index) for index, field in enumerate(self.fields)]
        queryset = self.build(*markers).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        prepared = [
            f.get_db_prep_value(m, connection) for f, m in zip(self.fields, markers, strict=True)
        ]
        slots = tuple(next((i for i, m in enumerate(prepared) if p == m), None) for p in params)
        missing = set(range(len(markers))) - set(slots)
        if missing:
            raise ValueError(f"markers {sorted(missing)} are not plain parameters of the query")
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        compiled = _Compiled(sql, tuple(params), slots, compiler, compiler.get_converters(fields))
        self._compiled[(using, connection.vendor)] = compiled
        return compiled


def signal_name(signal) -> str:
    return "pre_save" if signal is pre_save else "post_save"


def _marker(field: Field, index: int) -> object:
    """A value no real query would hold, of the type the field expects."""
    if hasattr(field, "compiled_marker"):  # a list slot (`kestra_iam.db.any_of.ListOf`)
        return field.compiled_marker(_marker(field.field, index))
    target = getattr(field, "target_field", None) or field
    if target.get_internal_type() == "UUIDField":
        return uuid.UUID(int=0xC0FFEE0000 + index)
    if target.get_internal_type() in ("AutoField", "BigAutoField", "BigIntegerField"):
        return -(0xC0FFEE0000 + index)
    return f"\x1fmarker-{index}-{uuid.uuid4().hex}\x1f"


class CompiledInsert:
    """One-row INSERTs of a model, compiled once per process (see the module docstring).

    Each field's value is prepared as `Model.save` would (`pre_save`, then `get_db_prep_save`);
    an auto-incremented primary key comes back through RETURNING. No signals are sent: use it
    only for models nobody listens to.

    `follows` names a foreign key whose row is inserted earlier in the same `insert_together`,
    with a key the database assigns (a tenant's access, before the values of its profile): on
    PostgreSQL, where the rows travel as one message and that key is not known when the message
    is written, the value is read in SQL — the `currval` of the referenced table's key sequence,
    which is this session's and so the row just inserted. Elsewhere the rows are inserted one by
    one and the key is copied from the inserted row.
    """

    def __init__(self, model, *, follows: str | None = None) -> None:
        self.model = model
        meta = model._meta
        self.fields = [f for f in meta.concrete_fields if not (f.primary_key and f.db_returning)]
        self.returning = [f for f in meta.db_returning_fields if f not in self.fields]
        self.follows = meta.get_field(follows) if follows else None
        if self.follows is not None and not self.follows.target_field.db_returning:
            raise ValueError(f"{follows} does not point at a key the database assigns")
        self._compiled: dict[tuple[str, str], str] = {}

    def statement(self, instance, using: str = "default") -> tuple[str, list]:
        """The SQL and parameters that insert this instance.

        Refuses (ImproperlyConfigured) a model that something listens to — its receivers
        would silently not run — and (TypeError) a value that is an expression, whose SQL the
        compiled statement does not have.
        """
        self._check_no_listeners()
        connection = connections[using]
        in_sql = self._key_in_sql(connection)
        if self.follows is not None and not in_sql:
            self._take_followed_key(instance)
        params = []
        for field in self.fields:
            if in_sql and field is self.follows:
                params += self._sequence_of_followed()
            else:
                value = field.pre_save(instance, add=True)
                if hasattr(value, "resolve_expression"):
                    message = "%s.%s is an expression (%r): a compiled insert sends values only"
                    raise TypeError(message % (self.model.__name__, field.name, value))
                params.append(field.get_db_prep_save(value, connection))
        sql = self._compiled.get((using, connection.vendor)) or self._compile(instance, using)
        return sql, params

    def _check_no_listeners(self) -> None:
        """Checked at each insert, not once: receivers connect at start-up, after this module's
        inserts are built, and a test may connect one at any time (it is a list lookup)."""
        for signal in (pre_save, post_save):
            if signal.has_listeners(self.model):
                raise ImproperlyConfigured(
                    f"{self.model.__name__} has {signal_name(signal)} receivers, which a "
                    "compiled insert would not run: insert it with the ORM"
                )

    def _key_in_sql(self, connection) -> bool:
        return self.follows is not None and connection.vendor == "postgresql"

    def _sequence_of_followed(self) -> list[str]:
        target = self.follows.target_field
        return [target.model._meta.db_table, target.column]

    def insert(self, instance, using: str = "default") -> None:
        sql, params = self.statement(instance, using)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            self._inserted(instance, cursor, using)

    def _inserted(self, instance, cursor, using: str) -> None:
        if self.returning:
            row = cursor.fetchone()
            for field, value in zip(self.returning, row, strict=True):
                setattr(instance, field.attname, value)
        if self.follows is not None:
            self._take_followed_key(instance)
        instance._state.adding = False
        instance._state.db = using

    def _take_followed_key(self, instance) -> None:
        # Assigned through the relation, as Model.save does, so the related row stays cached.
        setattr(instance, self.follows.name, getattr(instance, self.follows.name))

    def _compile(self, instance, using: str) -> str:
        from django.db.models.expressions import RawSQL
        from django.db.models.sql import InsertQuery

        query = InsertQuery(self.model)
        query.insert_values(self.fields, [instance])
        if self._key_in_sql(connections[using]):
            # Compiled with the expression in the followed key's place; `statement` supplies
            # the table and column it reads.
            (row,) = query.objs = [copy.copy(instance)]
            setattr(
                row,
                self.follows.attname,
                RawSQL("currval(pg_get_serial_sequence(%s, %s))", self._sequence_of_followed()),
            )
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = self.returning or None
        ((sql, _params),) = compiler.as_sql()
        self._compiled[(using, connections[using].vendor)] = sql
        return sql


def insert_together(
    rows: list[tuple[CompiledInsert, object]],
    using: str = "default",
    *,
    first: tuple[str, list] | None = None,
) -> None:
    """Several one-row INSERTs in one round trip on PostgreSQL, in order; `first`, a statement
    whose result is not read (an UPDATE, say), runs before them in the same round trip.

    Django's PostgreSQL cursor binds parameters on the client, so statements separated by `;`
    travel as one message and their results come back one after the other. Elsewhere (SQLite)
    they run one by one. Foreign keys are checked at COMMIT, as for any write in a transaction.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        if first is not None:
            with connection.cursor() as cursor:
                cursor.execute(*first)
        for inserter, instance in rows:
            inserter.insert(instance, using)
        return
    statements = [first] if first is not None else []
    statements += [inserter.statement(instance, using) for inserter, instance in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            ";\n".join(sql for sql, _ in statements),
            [param for _, params in statements for param in params],
        )
        if first is not None:
            cursor.nextset()
        for index, (inserter, instance) in enumerate(rows):
            if index:
                cursor.nextset()
            inserter._inserted(instance, cursor, using)


def insert_atomically(rows: list[tuple[CompiledInsert, object]], using: str = "default") -> None:
    """All of these rows or none (an IntegrityError, nothing written), in as few round trips as
    the database allows.

    On PostgreSQL outside a transaction the INSERTs travel as one message, which the server runs
    as one implicit transaction: no BEGIN and no COMMIT round trip, and a failing statement
    takes the others back with it. Anywhere else they run in `transaction.atomic()` (within a
    caller's transaction, a savepoint: a failure leaves that transaction usable).
    """
    connection = connections[using]
    if (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
    ):
        insert_together(rows, using)
        return
    with transaction.atomic(using=using):
        insert_together(rows, using)
