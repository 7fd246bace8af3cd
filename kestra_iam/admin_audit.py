"""The audit trail in the admin: read-only, filterable, each event linking to what it is about.

Pruned with `manage.py audit prune --older-than DAYS`.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.timezone import localtime

from kestra_iam.models import AuditEvent, Tenant

# SCIM events name the resource as SCIM does; admin and command events by the model's name.
SCIM_RESOURCE_MODELS = {"USERS": "user", "GROUPS": "group"}


class OutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return (
            ("success", "succeeded (2xx)"),
            ("refused", "refused (4xx)"),
            ("failed", "failed (5xx)"),
        )

    def queryset(self, request, queryset):
        ranges = {"success": (200, 299), "refused": (400, 499), "failed": (500, 599)}
        if self.value() in ranges:
            low, high = ranges[self.value()]
            return queryset.filter(outcome__gte=low, outcome__lte=high)
        return queryset


class TenantIdFilter(admin.SimpleListFilter):
    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        return [(t.pk, t.pk) for t in Tenant.objects.all()]

    def queryset(self, request, queryset):
        return queryset.filter(tenant_id=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only."""

    # Lists, so that apps whose objects events point at add their own column and filter
    # (provisioning adds the integration); the domain does not know those apps.
    # The request id is on the event's page and searchable; the list keeps to what fits.
    list_display = ["when", "tenant_id", "actor", "action", "resource", "outcome"]
    list_filter = [TenantIdFilter, OutcomeFilter, "actor_type", "occurred_at"]
    date_hierarchy = "occurred_at"
    search_fields = ("=resource_id", "=request_id", "actor", "action")
    show_full_result_count = False

    @admin.display(description="occurred at", ordering="occurred_at")
    def when(self, event: AuditEvent) -> str:
        # Compact, to the second: the trail is read as a sequence.
        return f"{localtime(event.occurred_at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="resource")
    def resource(self, event: AuditEvent) -> str:
        """The resource's type and the start of its id, linking to its page when it has one
        (it may have been deleted since: the admin then says so)."""
        if not event.resource_id:
            return event.resource_type or "—"
        short = event.resource_id[:8] + ("…" if len(event.resource_id) > 8 else "")
        url = self._change_url(event)
        if url is None:
            return format_html("{} <code>{}</code>", event.resource_type, short)
        return format_html(
            '{} <a href="{}" title="{}"><code>{}</code></a>',
            event.resource_type,
            url,
            event.resource_id,
            short,
        )

    def _change_url(self, event: AuditEvent) -> str | None:
        model_name = SCIM_RESOURCE_MODELS.get(event.resource_type, event.resource_type)
        app_label = self._registered_apps.get(model_name)
        if app_label is None:
            return None
        try:
            return reverse(f"admin:{app_label}_{model_name}_change", args=[event.resource_id])
        except NoReverseMatch:  # an id its model's URL does not take
            return None

    @cached_property
    def _registered_apps(self) -> dict[str, str]:
        """{model name: app label} of the models this admin site shows, read once (the
        registry is complete once the admin serves a page)."""
        return {
            model._meta.model_name: model._meta.app_label for model in self.admin_site._registry
        }

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
