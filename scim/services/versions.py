"""Resource versions: every change of a user or a group bumps the version its ETag shows."""

from __future__ import annotations

from django.db import DataError, IntegrityError, InternalError, ProgrammingError
from django.db.models import F, Model
from django.utils.timezone import now

from kestra_iam.audit import EVENT_INSERT, AuditEntry, AuditWriteFailed
from kestra_iam.db.versions import bump_version_and_insert
from observability.availability import is_unavailable


def save_new_version(instance: Model, changes: dict) -> None:
    """Write the changed columns and a new version (the resource's ETag).

    The row is locked by the caller's transaction, so the instance is kept equal to it without
    reading it back.
    """
    updated_at = now()
    type(instance).objects.filter(pk=instance.pk).update(
        **changes, version=F("version") + 1, updated_at=updated_at
    )
    _saved(instance, changes, updated_at)


def save_new_version_recorded(instance: Model, audit: AuditEntry, **story) -> None:
    """A new version with no column changed (a group's members changed) and the write's audit
    event (`story` as `AuditEntry.event` takes it), in one round trip on PostgreSQL.

    Nothing in the version bump can be refused, so a refusal is the event's: AuditWriteFailed,
    as `AuditEntry.record` raises, and the caller's transaction rolls back.
    """
    updated_at = now()
    try:
        event = audit.event(resource_id=instance.pk, **story)
        bump_version_and_insert(instance, [(EVENT_INSERT, event)], updated_at)
    except (DataError, IntegrityError, InternalError, ProgrammingError) as exc:
        if is_unavailable(exc):  # a read-only server: the write's trouble, not the event's
            raise
        raise AuditWriteFailed(str(exc)) from exc
    _saved(instance, {}, updated_at)


def _saved(instance: Model, changes: dict, updated_at) -> None:
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.version += 1
    instance.updated_at = updated_at
