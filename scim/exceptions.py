"""SCIM errors and the one handler that turns every failure into a SCIM Error response.

RFC 7644 §3.12: the body is `{"schemas": [Error URN], "status": "<code as a string>",
"scimType": …, "detail": …}`. Everything that can go wrong under a SCIM endpoint ends here:
our own errors, DRF's (authentication, parsing, method, throttling), Django's 404, and anything
unexpected, which is logged and answered without internals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, DataError, IntegrityError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from kestra_iam.audit import AuditWriteFailed
from kestra_iam.authorisation import AuthorisationChanged
from kestra_iam.db.transactions import error_kind, is_lock_timeout
from observability.availability import log_database_error
from observability.metrics import DATABASE_ERRORS
from scim.schema import ERROR_URN

logger = logging.getLogger(__name__)

UNAUTHENTICATED_DETAIL = (
    "Authentication failed: send 'Authorization: Bearer <Secret Token>' with the integration's "
    "current token."
)


class SCIMError(Exception):
    status = 400
    scim_type: str | None = None
    default_detail = "The request is invalid."

    def __init__(self, detail: str | None = None, *, headers: dict | None = None) -> None:
        self.detail = detail or self.default_detail
        self.headers = headers or {}
        super().__init__(self.detail)


class InvalidFilter(SCIMError):
    scim_type = "invalidFilter"


class InvalidSyntax(SCIMError):
    scim_type = "invalidSyntax"


class InvalidPath(SCIMError):
    scim_type = "invalidPath"


class InvalidValue(SCIMError):
    scim_type = "invalidValue"


class NoTarget(SCIMError):
    scim_type = "noTarget"


class Mutability(SCIMError):
    scim_type = "mutability"


class TooMany(SCIMError):
    scim_type = "tooMany"


class Forbidden(SCIMError):
    status = 403
    default_detail = "This request is not allowed."


class Uniqueness(SCIMError):
    status = 409
    scim_type = "uniqueness"


@contextmanager
def refused_as_uniqueness(detail: str) -> Iterator[None]:
    """A unique constraint that refused the write (a concurrent request took the name first)
    is the 409 the checks before it would have answered; the transaction inside is rolled back
    already."""
    try:
        yield
    except IntegrityError:
        raise Uniqueness(detail) from None


class NotFound(SCIMError):
    status = 404
    default_detail = "Resource not found."


class PreconditionFailed(SCIMError):
    status = 412
    scim_type = "invalidVers"
    default_detail = "The resource has changed: its version does not match If-Match."


class PayloadTooLarge(SCIMError):
    status = 413
    scim_type = "tooMany"


class TooManyRequests(SCIMError):
    status = 429

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class NotImplementedFeature(SCIMError):
    status = 501


class ServiceUnavailable(SCIMError):
    status = 503
    default_detail = "The service is temporarily unavailable; retry shortly."

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict:
    body = {"schemas": [ERROR_URN], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def error_response(
    status: int, detail: str, scim_type: str | None = None, headers: dict | None = None
) -> Response:
    return Response(error_body(status, detail, scim_type), status=status, headers=headers)


def scim_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER for the SCIM views: always a SCIM Error, never a traceback."""
    if isinstance(exc, SCIMError):
        return error_response(exc.status, exc.detail, exc.scim_type, exc.headers)
    if isinstance(exc, drf.APIException | Http404 | DjangoPermissionDenied):
        return _framework_error(exc, context)
    if isinstance(exc, AuditWriteFailed | DatabaseError):
        return _database_error(exc)
    if isinstance(exc, AuthorisationChanged):
        # Only when it changed again while the request ran a second time: nothing was written.
        return error_response(
            503, "The caller's authorisation changed during the request; retry.",
            headers={"Retry-After": "1"},
        )  # fmt: skip
    logger.exception("Unexpected error while serving SCIM")
    return error_response(500, "Internal error; it has been logged.")


def _framework_error(exc: Exception, context: dict) -> Response:
    """DRF's and Django's own errors: authentication, permission, routing, parsing, throttling."""
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        # One body for every authentication failure: nothing tells a prober which part was wrong.
        return error_response(401, UNAUTHENTICATED_DETAIL, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        return error_response(403, str(getattr(exc, "detail", "")) or "Permission denied.")
    if isinstance(exc, Http404 | drf.NotFound):
        return error_response(404, "Resource not found.")
    if isinstance(exc, drf.MethodNotAllowed):
        return error_response(405, f"Method {context['request'].method} is not allowed here.")
    if isinstance(exc, drf.UnsupportedMediaType):
        return error_response(
            415,
            f"Unsupported Content-Type {exc.detail!s}; send application/scim+json or "
            "application/json.",
        )
    if isinstance(exc, drf.ParseError):
        return error_response(400, f"The body is not valid JSON: {exc.detail}", "invalidSyntax")
    if isinstance(exc, drf.Throttled):
        wait = max(int(exc.wait or 1), 1)
        return error_response(
            429,
            f"Too many requests for this integration; retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    return error_response(exc.status_code, str(exc.detail))


def _database_error(exc: Exception) -> Response:
    """The database refused or failed: a conflict, a bad value, or trouble worth a retry."""
    retry = {"Retry-After": "5"}
    DATABASE_ERRORS.labels("audit" if isinstance(exc, AuditWriteFailed) else error_kind(exc)).inc()
    if isinstance(exc, AuditWriteFailed):
        # The write was rolled back with its event: nothing changed, so the client may retry.
        return error_response(
            503,
            "The change could not be recorded in the audit trail, so it was not made; retry "
            "shortly.",
            headers=retry,
        )
    if isinstance(exc, IntegrityError):
        # Services map the conflicts they expect; this catches a race they did not foresee.
        logger.warning("Integrity error reached the SCIM handler: %s", exc)
        return error_response(
            409, "The request conflicts with existing data (a unique value is taken).", "uniqueness"
        )
    if isinstance(exc, DataError):
        logger.warning("Data error reached the SCIM handler: %s", exc)
        return error_response(400, "A value cannot be stored as sent.", "invalidValue")
    if is_lock_timeout(exc):
        return error_response(
            503,
            "The resource is being changed by another request that holds it; nothing was "
            "changed. Retry shortly.",
            headers={"Retry-After": "2"},
        )
    log_database_error(exc, logger, serving="serving SCIM")
    return error_response(503, ServiceUnavailable.default_detail, headers=retry)
