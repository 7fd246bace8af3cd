"""Administration → IAM → Provisioning: create, enable/disable, rotate and delete integrations.

The Secret Token is shown exactly once, on a page rendered in the response to the POST that
created (or rotated) it. It never goes through the messages framework, whose cookie backend
signs but does not encrypt, and it is never logged.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import now
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kestra_iam.admin import AuditEventAdmin
from kestra_iam.admin_base import AuditedAdminMixin, audited_admin_view
from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import ApiToken
from kestra_iam.services import live_tokens
from provisioning.handoff import receive_issued_tokens, take_issued_token
from provisioning.models import ProvisioningIntegration
from provisioning.selectors import integration_endpoint
from provisioning.services import (
    integration_delete,
    integration_revoke_tokens,
    integration_rotate_token,
    integration_set_enabled,
)
from provisioning.tenancy import TENANCY_REQUIRED, ensure_tenancy_enabled, tenancy_enabled

TOKEN_TEMPLATE = "admin/provisioning/provisioningintegration/secret_token.html"
OVERLAP_CHOICES = ((0, "none: the old token stops now"), (1, "1 hour"), (24, "24 hours"))
TOKEN_EXPIRY_WARNING = timedelta(days=30)


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


@admin.register(ProvisioningIntegration)
class ProvisioningIntegrationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_filter = ("tenant", "enabled", "provisioning_type")
    list_select_related = ("tenant",)
    search_fields = ("name", "description", "=id")
    actions = ("enable_selected", "disable_selected")
    add_fields = ("name", "description", "provisioning_type", "tenant", "token_lifetime_days")
    change_fields = (
        "id",
        "name",
        "description",
        "provisioning_type",
        "tenant",
        "enabled",
        "token_lifetime_days",
        "service_account_link",
        "created_at",
        "updated_at",
        "last_request_at",
    )
    readonly_fields = (
        "id",
        "provisioning_type",
        "tenant",
        "service_account_link",
        "created_at",
        "updated_at",
        "last_request_at",
    )

    def audit_integration_id(self, obj):
        return obj.pk

    # --- pages ------------------------------------------------------------------------------

    def get_list_display(self, request: HttpRequest):
        @admin.display(description="endpoint")
        def endpoint(integration: ProvisioningIntegration) -> str:
            return format_html(
                "<code>{}</code>", integration_endpoint(integration, request=request)
            )

        @admin.display(description="enabled", ordering="enabled")
        def enabled_toggle(integration: ProvisioningIntegration) -> str:
            url = reverse(
                "admin:provisioning_provisioningintegration_toggle", args=[integration.pk]
            )
            label, state = ("Disable", "enabled") if integration.enabled else ("Enable", "disabled")
            # `formaction` posts the list's own form (which carries the CSRF token) to the toggle
            # view: one click, no JavaScript, no nested form.
            return format_html(
                '<span class="integration-state {}">{}</span> '
                '<button type="submit" class="button integration-toggle" formaction="{}" '
                'name="toggle" value="{}">{}</button>',
                state,
                state,
                url,
                integration.pk,
                label,
            )

        return (
            "name",
            "tenant",
            "provisioning_type",
            enabled_toggle,
            endpoint,
            "token_status",
            "created_at",
            "last_request_at",
        )

    def get_queryset(self, request):
        live = ApiToken.objects.filter(revoked_at__isnull=True).order_by("-created_at", "-pk")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("service_account__tokens", queryset=live, to_attr="unrevoked")
            )
        )

    @admin.display(description="Secret Token")
    def token_status(self, integration: ProvisioningIntegration) -> str:
        account = integration.service_account
        tokens = (
            [t for t in getattr(account, "unrevoked", []) if not t.is_expired] if account else []
        )
        if not tokens:
            return format_html(
                '<span class="token-state expired">{}</span>', "no valid token — rotate"
            )
        expiries = [t.expires_at for t in tokens]
        if any(e is None for e in expiries):
            return "never expires"
        remaining = max(expiries) - now()
        days = remaining.days
        css = "expiring" if remaining <= TOKEN_EXPIRY_WARNING else "valid"
        label = f"expires in {days} day{'s' if days != 1 else ''}" if days else "expires today"
        return format_html('<span class="token-state {}">{}</span>', css, label)

    def get_fields(self, request, obj=None):
        return self.change_fields if obj is not None else self.add_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/toggle/",
                self.admin_site.admin_view(self.toggle_view),
                name=f"{prefix}_toggle",
            ),
            path(
                "<path:object_id>/rotate-token/",
                self.admin_site.admin_view(self.rotate_token_view),
                name=f"{prefix}_rotate_token",
            ),
            path(
                "<path:object_id>/revoke-tokens/",
                self.admin_site.admin_view(self.revoke_tokens_view),
                name=f"{prefix}_revoke_tokens",
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request):
        return tenancy_enabled() and super().has_add_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {})}
        if not tenancy_enabled():
            extra_context["tenancy_message"] = TENANCY_REQUIRED
        return super().changelist_view(request, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        if not tenancy_enabled():
            messages.error(request, TENANCY_REQUIRED)
            return HttpResponseRedirect(
                reverse("admin:provisioning_provisioningintegration_changelist")
            )
        # The new integration's Secret Token is handed over inside this scope, to response_add.
        with receive_issued_tokens():
            return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        integration = self.get_object(request, object_id)
        extra_context = {**(extra_context or {})}
        if integration is not None:
            tokens = (
                list(live_tokens(integration.service_account))
                if integration.service_account_id
                else []
            )
            extra_context.update(
                endpoint=integration_endpoint(integration, request=request),
                live_tokens=tokens,
                overlap_choices=OVERLAP_CHOICES,
                tenancy_message=None if tenancy_enabled() else TENANCY_REQUIRED,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="service account")
    def service_account_link(self, integration: ProvisioningIntegration) -> str:
        account = integration.service_account
        if account is None:
            return "—"
        url = reverse("admin:kestra_iam_serviceaccount_change", args=[account.pk])
        return format_html('<a href="{}">{}</a>', url, account.name)

    # --- saving -----------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            ensure_tenancy_enabled()
        obj.save()  # a new integration is bootstrapped by the post_save receiver

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_token_page(
            request, obj, raw_token=take_issued_token(obj), title="Integration created"
        )

    def delete_model(self, request, obj):
        integration_delete(integration=obj)

    def delete_queryset(self, request, queryset):
        for integration in queryset.select_related("service_account"):
            integration_delete(integration=integration)

    # --- custom views -----------------------------------------------------------------------

    @method_decorator(require_POST)
    @audited_admin_view(failure_url=_changelist_url)
    def toggle_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        integration = self._get_for_change(request, object_id)
        integration_set_enabled(integration=integration, enabled=not integration.enabled)
        state = "enabled" if integration.enabled else "disabled"
        self.log_change(request, integration, [{"changed": {"fields": ["enabled"]}}])
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
        self.log_change(request, integration, f"Rotated the Secret Token{overlap_note}.")
        return self._secret_token_page(
            request,
            integration,
            raw_token=issued.raw,
            title="Secret Token rotated",
            overlap_hours=int(hours),
        )

    @method_decorator(require_POST)
    @audited_admin_view(failure_url=_change_url)
    def revoke_tokens_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        integration = self._get_for_change(request, object_id)
        count = integration_revoke_tokens(integration=integration)
        self.log_change(request, integration, f"Revoked {count} Secret Token(s).")
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
            self.log_change(request, integration, [{"changed": {"fields": ["enabled"]}}])
            changed.append(integration.name)
        # Told once all of them (and their audit events) are written: the action is atomic.
        for name in changed:
            self.message_user(request, f"“{name}” is now {state}.", messages.SUCCESS)

    def _get_for_change(self, request: HttpRequest, object_id: str) -> ProvisioningIntegration:
        integration = self.get_object(request, object_id)
        if integration is None:
            raise Http404("No such integration.")
        if not self.has_change_permission(request, integration):
            raise PermissionDenied
        return integration

    def _secret_token_page(
        self,
        request: HttpRequest,
        integration: ProvisioningIntegration,
        *,
        raw_token: str,
        title: str,
        overlap_hours: int = 0,
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
        response = TemplateResponse(request, TOKEN_TEMPLATE, context)
        # The page holds a credential: never store it in a cache or the browser history cache.
        response["Cache-Control"] = "no-store"
        return response


class AuditIntegrationFilter(admin.SimpleListFilter):
    """Audit events by integration: the trail is the IAM domain's, integrations are ours."""

    title = "integration"
    parameter_name = "integration"

    def lookups(self, request, model_admin):
        return [(str(i.pk), str(i)) for i in ProvisioningIntegration.objects.all()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        integration_id = parse_uuid(self.value())
        return queryset.filter(integration_id=integration_id) if integration_id else queryset.none()


AuditEventAdmin.list_filter.insert(1, AuditIntegrationFilter)
