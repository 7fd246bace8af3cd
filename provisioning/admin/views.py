"""What the integration page's buttons and the list's actions do: enable or disable, rotate
or revoke the Secret Token, show a new token once, repair the role and binding.

The Secret Token is shown exactly once, on the page the creating (or rotating) POST redirects
to (`provisioning.reveal`: a reload shows that it was already shown, and does nothing else). It
never goes through the messages framework, whose cookie backend signs but does not encrypt,
and it is never logged.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kestra_iam.admin_base import audited_admin_view
from kestra_iam.services import DomainError
from provisioning import reveal
from provisioning.models import ProvisioningIntegration
from provisioning.selectors import integration_endpoint
from provisioning.services import (
    integration_repair,
    integration_revoke_tokens,
    integration_rotate_token,
    integration_set_enabled,
)

TOKEN_TEMPLATE = "admin/provisioning/provisioningintegration/secret_token.html"
OVERLAP_CHOICES = ((0, "none: the old token stops now"), (1, "1 hour"), (24, "24 hours"))


def _changelist_url(model_admin, request, *args) -> str:
    return reverse("admin:provisioning_provisioningintegration_changelist")


def _change_url(model_admin, request, object_id, *args) -> str:
    return reverse("admin:provisioning_provisioningintegration_change", args=[object_id])


def _safe_next(request: HttpRequest) -> str | None:
    """The posted `next`, if it is a path on this site: never a redirect to somewhere else."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


class IntegrationViews:
    """Mixed into the integration admin: its custom views, their URLs, and its actions."""

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        views = {
            "toggle": self.toggle_view,
            "rotate-token": self.rotate_token_view,
            "repair": self.repair_view,
            "secret-token": self.secret_token_view,
            "revoke-tokens": self.revoke_tokens_view,
        }
        return [
            *(
                path(
                    f"<path:object_id>/{segment}/",
                    self.admin_site.admin_view(view),
                    name=f"{prefix}_{segment.replace('-', '_')}",
                )
                for segment, view in views.items()
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    @audited_admin_view(failure_url=_changelist_url)
    def toggle_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        integration = self._get_for_change(request, object_id)
        integration_set_enabled(integration=integration, enabled=not integration.enabled)
        state = "enabled" if integration.enabled else "disabled"
        self._log_enabled(request, integration)
        self.message_user(request, f"“{integration.name}” is now {state}.", messages.SUCCESS)
        return HttpResponseRedirect(_safe_next(request) or _changelist_url(self, request))

    @method_decorator(require_POST)
    @method_decorator(never_cache)
    @audited_admin_view(failure_url=_change_url)
    def rotate_token_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        integration = self._get_for_change(request, object_id)
        hours = request.POST.get("overlap_hours", "0")
        if hours not in {str(h) for h, _ in OVERLAP_CHOICES}:
            self.message_user(
                request, "Choose an overlap of none, 1 hour or 24 hours.", messages.ERROR
            )
            return HttpResponseRedirect(request.path.replace("rotate-token/", "change/"))
        issued = integration_rotate_token(
            integration=integration, overlap=timedelta(hours=int(hours))
        )
        overlap_note = (
            f" (the previous token works for {hours} more hour(s))" if hours != "0" else ""
        )
        self.log_event(
            request, integration, "rotate_token", f"Rotated the Secret Token{overlap_note}."
        )
        return self._reveal(
            request,
            integration,
            raw_token=issued.raw,
            title="Secret Token rotated",
            overlap_hours=int(hours),
        )

    @method_decorator(never_cache)
    def secret_token_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The page a create or a rotation redirects to: the new token, the first time only."""
        integration = self._get_for_change(request, object_id)
        opened = reveal.unseal(
            request.session, integration_id=integration.pk, key=request.GET.get("key", "")
        )
        if opened is None:
            return self._secret_token_page(request, integration, raw_token=None, status=410)
        raw_token, details = opened
        return self._secret_token_page(request, integration, raw_token=raw_token, **details)

    @method_decorator(require_POST)
    @audited_admin_view(failure_url=_change_url)
    def repair_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        integration = self._get_for_change(request, object_id)
        try:
            repaired = integration_repair(integration=integration)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(_change_url(self, request, integration.pk))
        if repaired.changes:
            summary = "; ".join(repaired.changes)
            self.log_event(request, integration, "repair", f"Repaired: {summary}.")
            self.message_user(
                request, f"Repaired “{integration.name}”: {summary}.", messages.SUCCESS
            )
        else:
            self.message_user(
                request, f"“{integration.name}” needed no repair: role and binding are in place."
            )
        return HttpResponseRedirect(_change_url(self, request, integration.pk))

    @method_decorator(require_POST)
    @audited_admin_view(failure_url=_change_url)
    def revoke_tokens_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        integration = self._get_for_change(request, object_id)
        count = integration_revoke_tokens(integration=integration)
        self.log_event(request, integration, "revoke_tokens", f"Revoked {count} Secret Token(s).")
        self.message_user(
            request,
            f"Revoked {count} token(s) of “{integration.name}”: its endpoint answers 401 until "
            "you rotate the token.",
            messages.WARNING,
        )
        return HttpResponseRedirect(
            reverse("admin:provisioning_provisioningintegration_change", args=[integration.pk])
        )

    @admin.action(description="Enable selected integrations", permissions=["change"])
    def enable_selected(self, request, queryset):
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected integrations", permissions=["change"])
    def disable_selected(self, request, queryset):
        self._set_enabled(request, queryset, enabled=False)

    # --- helpers ----------------------------------------------------------------------------

    def _set_enabled(self, request, queryset, *, enabled: bool) -> None:
        state = "enabled" if enabled else "disabled"
        changed = []
        for integration in queryset:
            integration_set_enabled(integration=integration, enabled=enabled)
            self._log_enabled(request, integration)
            changed.append(integration.name)
        # Told once all of them (and their audit events) are written: the action is atomic.
        for name in changed:
            self.message_user(request, f"“{name}” is now {state}.", messages.SUCCESS)

    def _log_enabled(self, request, integration: ProvisioningIntegration) -> None:
        verb = "enable" if integration.enabled else "disable"
        self.log_event(request, integration, verb, f"enabled: {str(integration.enabled).lower()}")

    def _get_for_change(self, request: HttpRequest, object_id: str) -> ProvisioningIntegration:
        integration = self.get_object(request, object_id)
        if integration is None:
            raise Http404("No such integration.")
        if not self.has_change_permission(request, integration):
            raise PermissionDenied
        return integration

    def _reveal(self, request, integration, *, raw_token: str, **details) -> HttpResponse:
        """Redirect to the token's one-time page (post/redirect/get: a reload acts no more)."""
        key = reveal.seal(
            request.session, integration_id=integration.pk, raw_token=raw_token, details=details
        )
        url = reverse(
            "admin:provisioning_provisioningintegration_secret_token", args=[integration.pk]
        )
        return HttpResponseRedirect(f"{url}?{urlencode({'key': key})}")

    def _secret_token_page(
        self,
        request: HttpRequest,
        integration: ProvisioningIntegration,
        *,
        raw_token: str | None,
        title: str = "Secret Token already shown",
        overlap_hours: int = 0,
        status: int = 200,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "integration": integration,
            "endpoint": integration_endpoint(integration, request=request),
            "secret_token": raw_token,
            "overlap_hours": overlap_hours,
        }
        response = TemplateResponse(request, TOKEN_TEMPLATE, context, status=status)
        # The page holds a credential: never store it in a cache or the browser history cache.
        response["Cache-Control"] = "no-store"
        return response
