"""The audit trail in the admin: read-only provisioning logs that read as sentences ("Entra ID -
Contoso disabled ada@contoso.com in main"), with what changed, every name a link, filters by
subject, request, kind, tenant and integration, and a download of what the filters show.

Pruned with `manage.py audit prune`, exported with `manage.py audit export`.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.urls import NoReverseMatch, path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from kestra_iam.admin_scope import TenantScopedAdmin, scope_of
from kestra_iam.audit_export import export_response
from kestra_iam.audit_story import Actor, actors_of, change_lines, story
from kestra_iam.models import AuditEvent, Tenant
from kestra_iam.permissions import Action, Resource

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


class OneValueFilter(admin.SimpleListFilter):
    """A filter reached by a link (a subject's or a request's events): it shows the value it
    narrows to, and "All" to widen again."""

    field = ""

    def lookups(self, request, model_admin):
        value = request.GET.get(self.parameter_name)
        return [(value, self.label(value, model_admin.get_queryset(request)))] if value else []

    def label(self, value: str, events) -> str:
        """How the sidebar names the value; `events` is what this person may read."""
        return value

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class SubjectFilter(OneValueFilter):
    title = "subject"
    parameter_name = "resource"
    field = "resource_id"

    def label(self, value: str, events) -> str:
        named = (
            events.filter(resource_id=value)
            .exclude(subject="")
            .values_list("subject", flat=True)
            .first()
        )
        return named or value


class RequestFilter(OneValueFilter):
    title = "request"
    parameter_name = "request"
    field = "request_id"


class TenantIdFilter(admin.SimpleListFilter):
    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        scope = scope_of(request)
        tenants = Tenant.objects.order_by("pk")
        if not scope.site_admin:
            tenants = tenants.filter(pk__in=scope.tenants_allowing(Resource.AUDITLOGS, Action.READ))
        return [(pk, pk) for pk in tenants.values_list("pk", flat=True)]

    def queryset(self, request, queryset):
        return queryset.filter(tenant_id=self.value()) if self.value() else queryset


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_UP_TO events: counting a million-row trail (and every filter of it)
    exactly costs a scan per page view, and "more than 10,000" is what the number tells."""

    COUNT_UP_TO = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.COUNT_UP_TO + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.COUNT_UP_TO

    @property
    def capped_label(self) -> str:
        return f"more than {self.COUNT_UP_TO:,}"


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin, admin.ModelAdmin):
    """The audit trail, read-only."""

    # Lists, so that apps whose objects events point at add their own filter (provisioning
    # adds the integration); the domain does not know those apps.
    list_display = ["when", "what_happened", "what_changed", "outcome", "request"]
    list_filter = [
        SubjectFilter,
        RequestFilter,
        TenantIdFilter,
        "kind",
        OutcomeFilter,
        "actor_type",
        "occurred_at",
    ]
    # No date hierarchy: its year and month links cost a scan of the whole trail per view;
    # the "occurred at" filter and the exports' --since/--until narrow by time.
    paginator = BoundedCountPaginator
    search_fields = ("=resource_id", "=request_id", "subject", "actor", "action")
    search_help_text = "A user's or group's name, an actor, an action, or an exact id."
    show_full_result_count = False
    fields = [
        "when",
        "what_happened",
        "what_changed",
        "outcome",
        "action",
        "actor_type",
        "actor",
        "tenant_id",
        "integration_id",
        "resource_type",
        "resource_id",
        "request",
        "detail",
    ]
    readonly_fields = fields

    # --- what the page's events are told with, read once per page --------------------------

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        self._name_actors(list(changelist.result_list))  # the page, evaluated once
        return changelist

    def get_object(self, request, object_id, from_field=None):
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            self._name_actors([event])
        return event

    def _name_actors(self, events: list[AuditEvent]) -> None:
        actors = actors_of(events)
        for event in events:
            event.told_actor = actors.get(event.pk, Actor(event.actor))

    # --- columns ------------------------------------------------------------------------------

    @admin.display(description="occurred at", ordering="occurred_at")
    def when(self, event: AuditEvent) -> str:
        # Compact, to the second: the trail is read as a sequence.
        return f"{localtime(event.occurred_at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="what happened")
    def what_happened(self, event: AuditEvent) -> str:
        actor = getattr(event, "told_actor", None) or Actor(event.actor)
        links = {
            "actor": actor.url,
            "subject": self._change_url(event),
            "tenant": self._tenant_url(event.tenant_id),
        }
        return format_html_join(
            "",
            "{}",
            (
                (format_html('<a href="{}">{}</a>', links[part.names], part.text)
                 if links.get(part.names) else part.text,)
                for part in story(event, actor.name)
            ),
        )  # fmt: skip

    @admin.display(description="what changed")
    def what_changed(self, event: AuditEvent) -> str:
        lines = change_lines(event.changes or {})
        if not lines:
            return event.detail or "—"
        return format_html_join(format_html("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description="request")
    def request(self, event: AuditEvent) -> str:
        """The request's id, linking to every event of that request."""
        if not event.request_id:
            return "—"
        url = reverse("admin:kestra_iam_auditevent_changelist") + f"?request={event.request_id}"
        return format_html(
            '<a href="{}" title="All events of request {}"><code>{}</code></a>',
            url,
            event.request_id,
            event.request_id[:8],
        )

    def _change_url(self, event: AuditEvent) -> str | None:
        """The resource's page, while it exists; otherwise its events (`?resource=`)."""
        model_name = SCIM_RESOURCE_MODELS.get(event.resource_type, event.resource_type)
        app_label = self._registered_apps.get(model_name)
        if not event.resource_id:
            return None
        if app_label is not None and event.kind != AuditEvent.Kind.DELETED:
            try:
                return reverse(f"admin:{app_label}_{model_name}_change", args=[event.resource_id])
            except NoReverseMatch:  # an id its model's URL does not take
                pass
        trail = reverse("admin:kestra_iam_auditevent_changelist")
        return f"{trail}?resource={event.resource_id}"

    def _tenant_url(self, tenant_id: str) -> str | None:
        if not tenant_id:
            return None
        return reverse("admin:kestra_iam_tenant_change", args=[tenant_id])

    @cached_property
    def _registered_apps(self) -> dict[str, str]:
        """{model name: app label} of the models this admin site shows, read once (the
        registry is complete once the admin serves a page)."""
        return {
            model._meta.model_name: model._meta.app_label for model in self.admin_site._registry
        }

    # --- the download of what the filters show ---------------------------------------------

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("export/<str:format>/", export, name="kestra_iam_auditevent_export"),
            *super().get_urls(),
        ]

    def export_view(self, request, format: str):
        """The trail as the list's filters and search narrow it, as CSV or JSON Lines."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        # Django's list, unpaginated: the filters and the search of the page it came from.
        try:
            changelist = super().get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(
                "These filters are not the audit list's: open the list, filter it, and use its "
                "download links.",
                content_type="text/plain",
            )
        return export_response(changelist.get_queryset(request), format)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
