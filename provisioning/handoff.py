"""How a new integration's Secret Token reaches the code that saved the integration, once.

The bootstrap runs in a `post_save` receiver (the product's design: however an integration is
saved, it gets its role, service account and token), and a receiver cannot return anything.
So whoever wants the token opens a *receiving scope* around the save, and takes it inside:

    with receive_issued_tokens():
        integration.save()
        raw = take_issued_token(integration)

The scope lives in the current context (thread or task), so concurrent requests never see each
other's tokens. A token issued outside any scope — an integration made in a shell or a fixture —
is dropped at once, and a scope forgets whatever was not taken when it closes: a raw token is
never kept anywhere longer than the code that shows it needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_scope: ContextVar[dict[uuid.UUID, str] | None] = ContextVar("issued_tokens", default=None)


@contextmanager
def receive_issued_tokens() -> Iterator[None]:
    """Collect the tokens the bootstrap issues until the block ends."""
    reset = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(reset)


def hand_over(integration_id: uuid.UUID, raw_token: str) -> None:
    """Called by the bootstrap receiver: give the raw token to the open scope, if any."""
    scope = _scope.get()
    if scope is not None:
        scope[integration_id] = raw_token


def take_issued_token(integration) -> str:
    """The raw token issued for this integration in the open scope; it can be taken once."""
    scope = _scope.get()
    raw = scope.pop(integration.pk, None) if scope is not None else None
    if raw is None:
        raise RuntimeError(
            "No Secret Token was issued for this integration in the current receiving scope."
        )
    return raw
