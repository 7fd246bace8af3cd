"""Passwords sent over SCIM: at most one hash per request, and only for a write that sets it.

Hashing is deliberately slow (hundreds of milliseconds with Django's default hasher), so it is
the one thing a client could multiply to take every worker: a body naming a thousand passwords
must not cost a thousand hashes. A request therefore gets one `PasswordHasher`, which makes at
most one hash — of the password the write will store, after the write is known to be valid —
and charges every hash it makes to the integration's password
budget. The services call `PasswordHasher.hash` before they lock any row where they can (a
read ahead of the locked write decides whether a password will be stored), so a hash does not
hold a row lock either.

A password set over SCIM is kept, hashed, on the tenant's profile of the user
(`TenantAccess.scim_password`): it is the tenant's, and no sign-in of this site accepts it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password

UNCHANGED = object()  # a write that leaves the password as it is


class SecondPasswordError(RuntimeError):
    """A request asked for the hash of a second, different password: a bug in a service (a
    write stores one password), never something a client can cause."""


class PasswordHasher:
    """The one password hash a request may cost.

    `charge` is called before each hash and may refuse it (the views pass the integration's
    password budget, which raises 429); the hash of the same password is made once and reused.
    """

    def __init__(self, charge: Callable[[], None] | None = None) -> None:
        self._charge = charge
        self._password: str | None = None
        self._hash: str | None = None

    @property
    def hashes_made(self) -> int:
        return 0 if self._hash is None else 1

    def hash(self, password: str) -> str:
        if self._hash is not None:
            if password == self._password:
                return self._hash
            raise SecondPasswordError("A SCIM write asked to hash a second password.")
        if self._charge is not None:
            self._charge()
        self._password, self._hash = password, make_password(password)
        return self._hash


def patch_may_set_password(operations: list) -> bool:
    """Whether a PATCH could set a password, decided without applying it: any string under a
    `password` key, at any depth, or an operation whose path is `password`.

    Over-approximates on purpose; it only decides whether the service reads the user ahead of
    the locked write to find the one password to hash. Nothing is hashed because of it.
    """

    def mentions(value: object) -> bool:
        if isinstance(value, dict):
            return any(
                (isinstance(key, str) and key.lower() == "password") or mentions(item)
                for key, item in value.items()
            )
        if isinstance(value, list):
            return any(mentions(item) for item in value)
        return False

    for operation in operations:
        if operation.op == "remove":
            continue
        path = operation.path
        if path is not None and path.attr.attr.lower() == "password":
            return True
        if mentions(operation.value):
            return True
    return False


def scim_password_hash(password: str | None, hasher: PasswordHasher) -> str:
    """What a tenant's profile stores for `password`: its hash, or nothing (None)."""
    if password is None:
        return ""
    return hasher.hash(password)


def unusable_password() -> str:
    """What `make_password(None)` stores — Django's unusable-password prefix and a random
    suffix — from one call to the system's random source instead of forty."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20)
