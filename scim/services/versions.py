"""Resource versions: every change of a user or a group bumps the version its ETag shows."""

from __future__ import annotations

from django.db.models import F, Model
from django.utils.timezone import now


def save_new_version(instance: Model, changes: dict) -> None:
    """Write the changed columns and a new version (the resource's ETag).

    The row is locked by the caller's transaction, so the instance is kept equal to it without
    reading it back.
    """
    updated_at = now()
    type(instance).objects.filter(pk=instance.pk).update(
        **changes, version=F("version") + 1, updated_at=updated_at
    )
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.version += 1
    instance.updated_at = updated_at
