"""Request ids, and the browser's session middleware kept away from the token-authenticated API."""

from __future__ import annotations

import re
import uuid

from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as message_middleware
from django.contrib.sessions import middleware as session_middleware

_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIDMiddleware:
    """Reuse a well-formed incoming X-Request-ID (a proxy's), else make one."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


# Every path the SCIM API serves starts with this (see kestra_iam.urls).
API_PREFIX = "/api/"


class _NotForTheAPI:
    """Skip this middleware for the SCIM API.

    The API authenticates every request by its bearer token and keeps no session: it has no use
    for a session cookie, a logged-in admin or messages, and must not depend on one. Run for
    every API request, these cost about a tenth of a lookup's CPU (measured in-process); the
    admin's pages keep them. (Django's CSRF middleware stays as it is, for everyone: its
    deployment check looks for it by name, and the API's views are exempt from it anyway.)
    """

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(_NotForTheAPI, session_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_NotForTheAPI, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_NotForTheAPI, message_middleware.MessageMiddleware):
    pass
