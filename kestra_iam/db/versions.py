"""A resource's version bump and the rows that go with it, in one round trip on PostgreSQL."""

from __future__ import annotations

from django.db import connections, router
from django.db.models import F, Model
from django.db.models.sql import UpdateQuery

from kestra_iam.db.compiled import insert_together


def bump_version_and_insert(instance: Model, rows: list, updated_at) -> None:
    """`UPDATE … SET version = version + 1, updated_at = …` of the instance's row, then the
    compiled inserts `rows` ((CompiledInsert, instance) pairs, as `insert_together` takes
    them), sent together: the UPDATE is the ORM's own SQL, compiled here rather than run, so
    that it can lead the message."""
    using = router.db_for_write(type(instance))
    query = type(instance).objects.filter(pk=instance.pk).query.chain(UpdateQuery)
    query.add_update_values({"version": F("version") + 1, "updated_at": updated_at})
    update = query.get_compiler(using, connections[using]).as_sql()
    insert_together(rows, using, first=update)
