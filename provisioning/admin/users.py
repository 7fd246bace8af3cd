"""The user list and page, with the integration that provisioned each of a user's accesses.

Users are the IAM domain's, which records only the integration's id on the access; this app
re-registers the user admin with a column naming the integrations (one query per page), a
filter by integration, and the integration on each access of the user's page.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kestra_iam.admin import GroupAdmin, TenantAccessInline, UserAdmin
from kestra_iam.models import TenantAccess, User
from provisioning.admin.filters import ProvisionedByFilter, UsersProvisionedByFilter
from provisioning.models import ProvisioningIntegration
from provisioning.selectors import integration_names

INTEGRATION_PAGE = "admin:provisioning_provisioningintegration_change"


class ProvisionedTenantAccessInline(TenantAccessInline):
    fields = [*TenantAccessInline.fields[:3], "provisioned_by", *TenantAccessInline.fields[3:]]
    readonly_fields = [*TenantAccessInline.readonly_fields, "provisioned_by"]

    @admin.display(description="created by")
    def provisioned_by(self, access: TenantAccess) -> str:
        """The integration that created this access, or who else did (an admin, a command)."""
        if access.pk is None or access.provisioned_by_id is None:
            return "not an integration (an admin or a command)"
        pk = access.provisioned_by_id
        name, live = integration_names({pk}).get(pk, (f"an integration {str(pk)[:8]}…", False))
        if not live:
            return f"{name} (deleted)"
        url = reverse(INTEGRATION_PAGE, args=[pk])
        return format_html('<a href="{}">{}</a>', url, name)


class ProvisioningAwareUserAdmin(UserAdmin):
    inlines = (ProvisionedTenantAccessInline,)
    list_filter = [*UserAdmin.list_filter[:1], UsersProvisionedByFilter, *UserAdmin.list_filter[1:]]

    def get_list_display(self, request):
        @admin.display(description="provisioned by")
        def provisioned_by(user: User) -> str:
            # The names are read by get_changelist_instance, per request (the admin is shared).
            return self.provisioned_by(user, request.integration_names)

        shown = list(super().get_list_display(request))
        return [*shown[:3], provisioned_by, *shown[3:]]

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        ids = {
            access.provisioned_by_id
            for user in changelist.result_list
            for access in user.accesses.all()
            if access.provisioned_by_id
        }
        request.integration_names = dict(
            ProvisioningIntegration.objects.filter(pk__in=ids).values_list("pk", "name")
        )
        return changelist

    def provisioned_by(self, user: User, names: dict) -> str:
        ids = sorted(
            {a.provisioned_by_id for a in user.accesses.all() if a.provisioned_by_id},
            key=lambda pk: names.get(pk, ""),
        )
        if not ids:
            return "—"
        return format_html_join(", ", "{}", ((self._integration(pk, names),) for pk in ids))

    def _integration(self, pk, names: dict) -> str:
        if pk not in names:  # the fact outlives the integration
            return f"a deleted integration ({str(pk)[:8]}…)"
        url = reverse("admin:provisioning_provisioningintegration_change", args=[pk])
        return format_html('<a href="{}">{}</a>', url, names[pk])


admin.site.unregister(User)
admin.site.register(User, ProvisioningAwareUserAdmin)
GroupAdmin.list_filter = (*GroupAdmin.list_filter, ProvisionedByFilter)
