"""Every SCIM test also checks that no request ended in an unexpected (500) error."""

import pytest

from scim import exceptions


@pytest.fixture(autouse=True)
def no_unexpected_errors(monkeypatch):
    unexpected = []
    original = exceptions.logger.exception

    def record(message, *args, **kwargs):
        unexpected.append(message % args if args else message)
        original(message, *args, **kwargs)

    monkeypatch.setattr(exceptions.logger, "exception", record)
    yield
    assert unexpected == [], f"a request ended in an unexpected error: {unexpected}"
