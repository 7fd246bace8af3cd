"""Showing a new Secret Token once, on a page reached by a redirect (post/redirect/get).

The POST that creates or rotates a token must not render it: reloading that page would post
again (rotate again, killing the token just shown, or fail to create a second integration of
the same name). So the POST seals the token and redirects to a page that opens the seal once.

The seal is a one-time pad: the session keeps `token XOR pad`, the redirect URL carries `pad`.
Neither half alone tells anything about the token; the session's half is deleted the first
time the page is shown (or after ten minutes), after which the URL is worthless. The token
never sits in the session in a usable form, nor in the URL, nor in any log (access logs leave
query strings out).

"The first time" is decided by the database, not the session: two simultaneous requests with
the same session both hold the sealed half, so each seal also writes a `TokenReveal` row, and
only the request whose DELETE removes it opens the seal.
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import timedelta

from django.utils.timezone import now as current_time

from provisioning.models import TokenReveal

SESSION_KEY = "provisioning.sealed_tokens"
LIFETIME_SECONDS = 600


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def seal(session, *, integration_id, raw_token: str, details: dict) -> str:
    """Keep the sealed token in the session; return the key the redirect URL carries.

    `details` (JSON-serialisable) come back with the token: what the page says about it.
    """
    token = raw_token.encode()
    pad = secrets.token_bytes(len(token))
    ticket = secrets.token_urlsafe(9)
    now = time.time()
    entries = {
        key: entry
        for key, entry in session.get(SESSION_KEY, {}).items()
        if now - entry["at"] < LIFETIME_SECONDS
    }
    entries[ticket] = {
        "integration": str(integration_id),
        "sealed": _encode(_xor(token, pad)),
        "details": details,
        "at": now,
    }
    session[SESSION_KEY] = entries
    TokenReveal.objects.filter(created_at__lt=_oldest_valid()).delete()
    TokenReveal.objects.create(ticket=ticket)
    return f"{ticket}.{_encode(pad)}"


def _oldest_valid():
    return current_time() - timedelta(seconds=LIFETIME_SECONDS)


def _claim(ticket: str) -> bool:
    """Whether this request is the one that shows the token (the one whose DELETE won)."""
    deleted, _ = TokenReveal.objects.filter(pk=ticket, created_at__gte=_oldest_valid()).delete()
    return deleted == 1


def unseal(session, *, integration_id, key: str) -> tuple[str, dict] | None:
    """The token and its details, once; None if already shown, expired, or not this one's."""
    ticket, _, pad = key.partition(".")
    entries = dict(session.get(SESSION_KEY, {}))
    entry = entries.pop(ticket, None)
    if entry is None:
        return None
    session[SESSION_KEY] = entries
    if entry["integration"] != str(integration_id) or time.time() - entry["at"] >= LIFETIME_SECONDS:
        return None
    if not _claim(ticket):  # another request with this session showed it first
        return None
    try:
        token = _xor(_decode(entry["sealed"]), _decode(pad)).decode("ascii")
    except (ValueError, UnicodeDecodeError):  # a pad that is not this token's
        return None
    return token, entry["details"]
