"""The baseline of target 2: a bare DRF endpoint that only authenticates the bearer token."""

from rest_framework.response import Response
from rest_framework.views import APIView

from scim.authentication import SCIMTokenAuthentication
from scim.renderers import SCIMRenderer


class AuthOnlyView(APIView):
    authentication_classes = [SCIMTokenAuthentication]
    permission_classes: list = []
    renderer_classes = [SCIMRenderer]
    throttle_classes: list = []

    def get(self, request, **kwargs):
        return Response({"ok": True})
