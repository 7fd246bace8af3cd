"""How SCIM writes wait for row locks: briefly, and not at all for a row that was just stuck.

Every write of an existing user or group bounds its lock waits to `SCIM_LOCK_TIMEOUT_MS`; a
wait that runs out is a 503 with Retry-After. The row is then remembered for a few seconds,
during which requests for it try the lock without waiting: one group held by a stuck
transaction costs each request for it a round trip, and the workers stay free for everyone
else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError
from django.db.models import QuerySet

from kestra_iam.db.transactions import RecentlyLocked, bounded_lock_waits, is_lock_timeout
from scim.conf import scim_settings

RECENTLY_LOCKED = RecentlyLocked(seconds=5.0)
T = TypeVar("T")


def write_transaction():
    """The transaction of one SCIM write."""
    return bounded_lock_waits(scim_settings().lock_timeout_ms)


def first_locked(queryset: QuerySet, *, key, **lock):
    """`queryset.select_for_update(**lock).first()`, without waiting if `key` (the row's
    identity) was recently stuck, and remembering it if it is now."""
    return locked_row(
        lambda nowait: queryset.select_for_update(nowait=nowait, **lock).first(), key=key
    )


def locked_row(fetch: Callable[[bool], T], *, key) -> T:
    """`fetch(nowait)` — a read that locks a row — with `nowait` true if `key` (the row's
    identity) was recently stuck, remembering the key if the lock wait runs out now."""
    try:
        return fetch(key in RECENTLY_LOCKED)
    except OperationalError as exc:
        if is_lock_timeout(exc):
            RECENTLY_LOCKED.add(key)
        raise
