"""Administration → IAM → Provisioning: the integration list and the integration's console page.

The page shows whether the integration can provision right now (`provisioning.console`); its
buttons are `IntegrationViews`; the list's columns are in `columns`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from kestra_iam.admin_base import AuditedAdminMixin
from kestra_iam.admin_scope import TenantScopedAdmin, escalation_error, scope_of
from kestra_iam.models import ApiToken
from kestra_iam.permissions import Action, Permission, Resource
from kestra_iam.rbac.grants import permissions_of
from kestra_iam.services import live_tokens
from provisioning.activity import DEFAULT_PERIOD, PERIODS, integrations_activity_by_day
from provisioning.admin import columns
from provisioning.admin.views import OVERLAP_CHOICES, IntegrationViews
from provisioning.charts import activity_svg, axis
from provisioning.console import integration_console, integration_dependents
from provisioning.models import MAX_DESCRIPTION_LENGTH, ProvisioningIntegration
from provisioning.provisioner_role import SCIM_PROVISIONER_PERMISSIONS
from provisioning.selectors import integration_endpoint
from provisioning.services import integration_delete, integration_issue_first_token
from provisioning.tenancy import TENANCY_REQUIRED, ensure_tenancy_enabled, tenancy_enabled


@admin.register(ProvisioningIntegration)
class ProvisioningIntegrationAdmin(
    TenantScopedAdmin, AuditedAdminMixin, IntegrationViews, admin.ModelAdmin
):
    list_filter = ("tenant", "enabled")
    list_select_related = ("tenant", "service_account")
    search_fields = ("name", "description", "=id")
    actions = ("enable_selected", "disable_selected")
    add_fields = (
        "name",
        "description",
        "provisioning_type",
        "tenant",
        "enabled",
        "token_lifetime_days",
    )
    change_fields = (
        "id",
        *add_fields,
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

    def audit_trail_filter(self, obj) -> dict[str, str]:
        return {"integration": str(obj.pk)}  # its SCIM traffic as well as changes to it

    # --- the list ---------------------------------------------------------------------------

    def get_list_display(self, request: HttpRequest):
        @admin.display(description="endpoint")
        def endpoint(integration):
            return columns.endpoint(integration, request)

        @admin.display(description="enabled", ordering="enabled")
        def enabled(integration):
            return columns.enabled_toggle(integration)

        @admin.display(description="Secret Token")
        def token(integration):
            return columns.token_status(integration)

        @admin.display(description="last 7 days")
        def activity(integration):
            # Filled in by get_changelist_instance, per request (the admin is shared).
            return columns.activity(request.integration_activity.get(integration.pk, []))

        @admin.display(description="last request", ordering="last_request_at")
        def last_request(integration):
            return columns.moment(integration.last_request_at)

        return ("name", "tenant", enabled, endpoint, token, activity, last_request)

    def get_queryset(self, request):
        live = ApiToken.objects.filter(revoked_at__isnull=True).order_by("-created_at", "-pk")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("service_account__tokens", queryset=live, to_attr="unrevoked")
            )
        )

    def get_changelist_instance(self, request):
        """The page's integrations get their 7-day activity in one query, before rendering."""
        changelist = super().get_changelist_instance(request)
        request.integration_activity = integrations_activity_by_day(
            [integration.pk for integration in changelist.result_list]
        )
        return changelist

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {})}
        if not tenancy_enabled():
            extra_context["tenancy_message"] = TENANCY_REQUIRED
        return super().changelist_view(request, extra_context)

    # --- the integration's page -------------------------------------------------------------

    def get_fields(self, request, obj=None):
        return self.change_fields if obj is not None else self.add_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_add_permission(self, request):
        return tenancy_enabled() and super().has_add_permission(request)

    def add_view(self, request, form_url="", extra_context=None):
        if not tenancy_enabled():
            messages.error(request, TENANCY_REQUIRED)
            return HttpResponseRedirect(
                reverse("admin:provisioning_provisioningintegration_changelist")
            )
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        integration = self.get_object(request, object_id)
        extra_context = {**(extra_context or {})}
        if integration is not None:
            account = integration.service_account
            period = PERIODS.get(request.GET.get("activity", ""), DEFAULT_PERIOD)
            console = integration_console(integration, period=period)
            extra_context.update(
                endpoint=integration_endpoint(integration, request=request),
                live_tokens=list(live_tokens(account)) if account else [],
                overlap_choices=OVERLAP_CHOICES,
                tenancy_message=None if tenancy_enabled() else TENANCY_REQUIRED,
                console=console,
                activity_chart=activity_svg(
                    console.activity,
                    unit=period.unit,
                    width=840,
                    height=120,
                    css_class="hourly" if period.unit == "hour" else "daily",
                    span=period.label,
                ),
                activity_axis=axis(console.activity, unit=period.unit),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="service account")
    def service_account_link(self, integration: ProvisioningIntegration) -> str:
        account = integration.service_account
        if account is None:
            return "—"
        url = reverse("admin:kestra_iam_serviceaccount_change", args=[account.pk])
        return format_html('<a href="{}">{}</a>', url, account.name)

    # --- saving and deleting ----------------------------------------------------------------

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "description":  # the browser stops at the model's bound too
            kwargs["max_length"] = MAX_DESCRIPTION_LENGTH
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def scope_errors(self, request, integration: ProvisioningIntegration) -> list[str]:
        """Creating an integration binds its new service account to SCIMProvisioner: the
        creator needs what such a binding needs — every grant of that role, and
        BINDINGS:CREATE — besides SERVICE_ACCOUNTS:CREATE, which the add page asks for."""
        if not integration._state.adding:
            return []
        needed = {
            Permission(Resource.BINDINGS, Action.CREATE),
            *permissions_of(SCIM_PROVISIONER_PERMISSIONS),
        }
        missing = scope_of(request).missing(integration.tenant_id, needed)
        return [escalation_error(missing, "create an integration")] if missing else []

    def save_model(self, request, obj, form, change):
        if not change:
            ensure_tenancy_enabled()
        obj.save()  # a new integration's role, account and binding: the post_save receiver
        if not change:
            # Issued here, in the add view's transaction, and shown once by response_add.
            request.issued_secret_token = integration_issue_first_token(integration=obj).raw

    def response_add(self, request, obj, post_url_continue=None):
        raw_token = request.issued_secret_token
        del request.issued_secret_token  # shown once, kept nowhere
        return self._reveal(request, obj, raw_token=raw_token, title="Integration created")

    def get_deleted_objects(self, objs, request):
        """The confirmation lists what goes with each integration: its service account, that
        account's tokens and its binding (Django's collector sees only the integration, as the
        service account is deleted by `integration_delete`, not by a cascade)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for integration in objs:
            for kind, kinds, names in integration_dependents(integration):
                deleted.extend(f"{kind}: {name}" for name in names)
                if names:
                    counts[kinds] = counts.get(kinds, 0) + len(names)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        integration_delete(integration=obj)

    def delete_queryset(self, request, queryset):
        for integration in queryset.select_related("service_account"):
            integration_delete(integration=integration)
