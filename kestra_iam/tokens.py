"""API tokens: generation, digests and constant-time verification.

A token reads `kiam_<key id>_<secret>`, 200 URL-safe characters in all:

- `kiam_` makes a leaked token easy to recognise (secret scanners, log reviews);
- the key id is public and random; it finds the row through a unique index;
- the secret is only ever stored as HMAC-SHA256(pepper, secret). The pepper comes from settings
  (`KESTRA_TOKEN_PEPPERS`) and its id is stored with the row, so peppers can be rotated.

An unknown key id and a wrong secret fail the same way and cost the same work: on a miss we still
compute a digest and compare it against a dummy, so response time does not reveal valid key ids.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

TOKEN_PREFIX = "kiam"
TOKEN_LENGTH = 200
KEY_ID_LENGTH = 16
_SECRET_LENGTH = TOKEN_LENGTH - len(TOKEN_PREFIX) - KEY_ID_LENGTH - 2
LAST_CHARACTERS = 4

_TOKEN_RE = re.compile(
    rf"^{TOKEN_PREFIX}_(?P<key_id>[a-z2-7]{{{KEY_ID_LENGTH}}})_(?P<secret>[A-Za-z0-9_-]{{{_SECRET_LENGTH}}})$"
)
_BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


@dataclass(frozen=True)
class GeneratedToken:
    """A fresh token: the raw value to show once, and what may be stored."""

    raw: str
    key_id: str
    digest: str
    pepper_id: int
    last_characters: str


@dataclass(frozen=True)
class ParsedToken:
    key_id: str
    secret: str


def current_pepper_id() -> int:
    """New tokens use the highest pepper id; older ids stay valid until removed from settings."""
    return max(settings.KESTRA_TOKEN_PEPPERS)


@sensitive_variables("secret", "pepper")
def digest(secret: str, pepper_id: int) -> str | None:
    """HMAC-SHA256 of the secret under the given pepper, or None if that pepper is gone."""
    pepper = settings.KESTRA_TOKEN_PEPPERS.get(pepper_id)
    if pepper is None:
        return None
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


@sensitive_variables("secret", "raw")
def generate() -> GeneratedToken:
    key_id = "".join(secrets.choice(_BASE32_ALPHABET) for _ in range(KEY_ID_LENGTH))
    secret = secrets.token_urlsafe(_SECRET_LENGTH)[:_SECRET_LENGTH]
    raw = f"{TOKEN_PREFIX}_{key_id}_{secret}"
    pepper_id = current_pepper_id()
    return GeneratedToken(
        raw=raw,
        key_id=key_id,
        digest=digest(secret, pepper_id),
        pepper_id=pepper_id,
        last_characters=raw[-LAST_CHARACTERS:],
    )


@sensitive_variables("raw", "match")
def parse(raw: str) -> ParsedToken | None:
    """Split a presented token into key id and secret; None if it is not one of ours."""
    match = _TOKEN_RE.match(raw)
    if match is None:
        return None
    return ParsedToken(key_id=match["key_id"], secret=match["secret"])


@sensitive_variables("secret")
def secret_matches(secret: str, *, stored_digest: str, pepper_id: int) -> bool:
    candidate = digest(secret, pepper_id)
    if candidate is None:
        return False
    return hmac.compare_digest(candidate, stored_digest)


@sensitive_variables("secret")
def burn_equivalent_time(secret: str) -> None:
    """The work of a real comparison, for misses (unknown key id or malformed token)."""
    hmac.compare_digest(digest(secret, current_pepper_id()), "0" * 64)
