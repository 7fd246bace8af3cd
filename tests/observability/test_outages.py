"""A dependency's outage is logged as an outage (a line when it starts, one a minute, one when
it ends), database errors are told apart (unavailable or a refusal of the statement), and
Django's per-request "Service Unavailable" line is left out."""

import logging
import time

import pytest
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
)

from observability.availability import is_unavailable
from observability.outages import OutageLog

logger = logging.getLogger("tests.outages")


def outage_log(log_every: float = 60.0) -> OutageLog:
    return OutageLog(
        logger, started="down (%s)", lasting="still down after %.0f s (%s)",
        ended="up after %.0f s", log_every=log_every,
    )  # fmt: skip


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger.name]


def test_an_outage_is_logged_when_it_starts_and_ends_not_per_failure(caplog):
    outage = outage_log()
    outage.answered()  # no outage: nothing to say
    for _ in range(100):
        outage.failed(OperationalError("connection refused"))
    assert outage.ongoing
    outage.answered()
    outage.answered()
    assert messages(caplog) == ["down (OperationalError)", "up after 0 s"]
    assert not outage.ongoing


def test_a_lasting_outage_is_logged_again_every_interval(caplog):
    outage = outage_log(log_every=0.05)
    outage.failed(OperationalError())
    outage.failed(OperationalError())  # within the interval: quiet
    time.sleep(0.06)
    outage.failed(InterfaceError())
    outage.failed(InterfaceError())
    assert messages(caplog) == ["down (OperationalError)", "still down after 0 s (InterfaceError)"]


class _Server(Exception):
    """What psycopg raises for a server's error: the SQLSTATE rides on the exception."""

    def __init__(self, sqlstate: str) -> None:
        self.sqlstate = sqlstate


def django_error(kind: type[DatabaseError], sqlstate: str | None = None) -> DatabaseError:
    exc = kind("from the database")
    exc.__cause__ = _Server(sqlstate) if sqlstate else None
    return exc


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (django_error(OperationalError), True),  # refused, reset, timed out: no server answer
        (django_error(InterfaceError), True),  # the connection is already closed
        (django_error(OperationalError, "08006"), True),  # connection failure
        (django_error(OperationalError, "57P01"), True),  # terminating: administrator command
        (django_error(OperationalError, "57P03"), True),  # the database system is starting up
        (django_error(InternalError, "25006"), True),  # read-only: a standby, a demoted primary
        (django_error(OperationalError, "55P03"), False),  # lock timeout: this statement's
        (django_error(OperationalError, "57014"), False),  # statement timeout: likewise
        (django_error(OperationalError, "40P01"), False),  # deadlock
        (django_error(IntegrityError, "23505"), False),  # a unique value taken
        (django_error(DatabaseError), False),
        (ValueError("not a database error"), False),
    ],
)
def test_unavailable_database_errors(exc, unavailable):
    assert is_unavailable(exc) is unavailable


def test_django_request_log_leaves_out_deliberate_503s(caplog):
    """The settings' filter on `django.request`: a 503 (always with Retry-After, its cause
    logged once) is not logged per request; a 500 still is."""
    request_log = logging.getLogger("django.request")
    request_log.error("Service Unavailable: /x", extra={"status_code": 503})
    request_log.error("Internal Server Error: /x", extra={"status_code": 500})
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [
        "Internal Server Error: /x"
    ]
