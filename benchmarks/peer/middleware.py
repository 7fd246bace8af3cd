"""Bearer-token authentication for the peer: one indexed query per request, then django-scim2's
own SCIMAuthCheckMiddleware answers 401 when no user was set."""

from benchmarks.peer.models import PeerToken


class BearerTokenMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and key:
            token = PeerToken.objects.select_related("user").filter(key=key.strip()).first()
            if token is not None:
                request.user = token.user
        return self.get_response(request)
