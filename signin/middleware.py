"""Deprovisioning ends administration at once: each admin request of a tenant administrator
re-reads what they administer (`kestra_iam.admin_scope`); when nothing is left — every access
disabled or removed by provisioning, every binding gone — their session ends there."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect
from django.urls import reverse

from kestra_iam.admin_scope import scope_of
from signin import audit

ENDED = (
    "Your session has ended: you no longer administer any tenant here (your access was "
    "disabled or removed, or your role taken away)."
)


class EndSessionWithoutAccess:
    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_superuser
            and request.path.startswith(self._admin_prefix())
            and not scope_of(request).tenant_ids
        ):
            audit.record_session_ended(request, user, ENDED)
            logout(request)
            messages.warning(request, ENDED)
            return HttpResponseRedirect(reverse("admin:login"))
        return self.get_response(request)

    def _admin_prefix(self) -> str:
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        return self.admin_prefix
