"""Passwords sent over SCIM: hashed before any row is locked, stored only by a profile's owner.

Hashing is deliberately slow (hundreds of milliseconds with Django's default hasher): done
inside a write's transaction it would hold the user's row locks that long. Callers hash the
passwords a request carries first (`hash_passwords`), within the integration's password budget,
and the services look the hashes up.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password

from kestra_iam.models import User

UNCHANGED = object()  # a write that leaves the password as it is
Hashes = dict[str, str]


def password_values(operations: list) -> list[str]:
    """Every string a PATCH could set as the password, found without applying it.

    Lets the caller hash them before any row is locked. Over-approximates on purpose (any
    string under a `password` key, at any depth): hashing one string too many is harmless.
    """
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and key.lower() == "password" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for operation in operations:
        if operation.op == "remove":
            continue
        path = operation.path
        if path is not None and path.attr.attr.lower() == "password":
            if isinstance(operation.value, str):
                found.append(operation.value)
        else:
            walk(operation.value)
    return list(dict.fromkeys(found))


def hash_passwords(passwords: Iterable[object]) -> Hashes:
    """{password: its hash} for the strings among `passwords`."""
    return {p: make_password(p) for p in dict.fromkeys(passwords) if isinstance(p, str)}


def encoded(password: str | None, hashes: Hashes | None) -> str:
    """The hash to store for `password` (None: a password that cannot be used)."""
    if password is None:
        return unusable_password()
    return (hashes or {}).get(password) or make_password(password)


def unusable_password() -> str:
    """What `make_password(None)` stores — Django's unusable-password prefix and a random
    suffix — from one call to the system's random source instead of forty."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20)


def store_password(user: User, password: str | None, hashes: Hashes | None) -> None:
    User.objects.filter(pk=user.pk).update(password=encoded(password, hashes))
