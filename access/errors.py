"""Every failure of the decision API as one JSON shape: `{status, code, detail[, errors]}`.

Invalid input names each field that is wrong (`checks[3].permission`), authentication failures
are one uniform 401, a database in trouble is a 503 with Retry-After, and anything unexpected
is logged and answered without internals — never a traceback, never an HTML page.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from kestra_iam.rbac.engine import UnknownSubject
from observability.availability import log_database_error

logger = logging.getLogger(__name__)


def error(status: int, code: str, detail: str, *, errors=None, headers=None) -> Response:
    body = {"status": status, "code": code, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(body, status=status, headers=headers)


def access_exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, drf.ValidationError):
        return error(
            400, "invalid", "The request is invalid; see errors.", errors=flatten(exc.detail)
        )
    if isinstance(exc, UnknownSubject):
        return error(404, "unknown_subject", " ".join(exc.messages))
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return error(
            401,
            "unauthenticated",
            "Send 'Authorization: Bearer <token>' with a live API token of a service account "
            "of this tenant.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, drf.PermissionDenied):
        return error(403, "forbidden", str(exc.detail))
    if isinstance(exc, Http404 | drf.NotFound):
        return error(404, "not_found", "There is no such endpoint.")
    if isinstance(exc, drf.MethodNotAllowed):
        return error(405, "method_not_allowed", f"{context['request'].method} is not allowed here.")
    if isinstance(exc, drf.UnsupportedMediaType):
        return error(415, "unsupported_media_type", "Send the body as application/json.")
    if isinstance(exc, drf.ParseError):
        return error(400, "invalid_json", f"The body is not valid JSON: {exc.detail}")
    if isinstance(exc, drf.APIException):
        return error(exc.status_code, exc.default_code, str(exc.detail))
    if isinstance(exc, DatabaseError):
        log_database_error(exc, logger, serving="deciding access")
        return error(
            503, "unavailable", "The IAM database is unavailable; retry shortly.",
            headers={"Retry-After": "5"},
        )  # fmt: skip
    logger.exception("Unexpected error while deciding access")
    return error(500, "internal", "Internal error; it has been logged.")


def flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as `{"checks[3].permission": ["…"]}`."""
    if isinstance(detail, dict):
        found: dict[str, list[str]] = {}
        for key, value in detail.items():
            if key == "non_field_errors":
                name = prefix
            elif isinstance(key, int) or str(key).isdigit():  # an element of a list
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            found.update(flatten(value, name))
        return found
    if isinstance(detail, list) and detail and not isinstance(detail[0], str):
        found = {}
        for index, value in enumerate(detail):
            if value:
                found.update(flatten(value, f"{prefix}[{index}]"))
        return found
    messages = [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or "body": messages}
