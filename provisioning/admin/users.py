"""The user list, with the integration that provisioned each of a user's accesses.

Users are the IAM domain's, which records only the integration's id on the access; this app
re-registers the user admin with a column naming the integrations (one query per page).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kestra_iam.admin import UserAdmin
from kestra_iam.models import User
from provisioning.models import ProvisioningIntegration


class ProvisioningAwareUserAdmin(UserAdmin):
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
