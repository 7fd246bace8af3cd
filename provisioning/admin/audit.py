"""The audit trail by integration: the trail is the IAM domain's, integrations are
provisioning's, so this app adds the filter and the column linking to the integration."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from kestra_iam.admin_audit import AuditEventAdmin
from kestra_iam.identifiers import parse_uuid
from provisioning.models import ProvisioningIntegration


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


@admin.display(description="integration")
def integration(event) -> str:
    if event.integration_id is None:
        return "—"
    url = reverse("admin:provisioning_provisioningintegration_change", args=[event.integration_id])
    return format_html('<a href="{}"><code>{}…</code></a>', url, str(event.integration_id)[:8])


AuditEventAdmin.list_filter.insert(1, AuditIntegrationFilter)
AuditEventAdmin.list_display.insert(3, integration)
