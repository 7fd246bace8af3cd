"""Lists by the integration that provisioned their rows: users (by their accesses) and groups,
so that "Provisioned into main: 1 user, 3 groups" on an integration's page links to them."""

from __future__ import annotations

from django.contrib import admin

from kestra_iam.admin_scope import scope_of
from kestra_iam.identifiers import parse_uuid
from provisioning.selectors import integration_names


class ProvisionedByFilter(admin.SimpleListFilter):
    """`?integration=<id>`: what that integration provisioned (a deleted one's too)."""

    title = "provisioned by"
    parameter_name = "integration"
    field = "provisioned_by_id"

    def lookups(self, request, model_admin):
        scope = scope_of(request)
        tenants = None if scope.site_admin else scope.tenant_ids
        names = sorted(
            integration_names(tenant_ids=tenants).items(), key=lambda item: item[1][0].lower()
        )
        return [(str(pk), name if live else f"{name} (deleted)") for pk, (name, live) in names]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        integration_id = parse_uuid(self.value())
        if integration_id is None:
            return queryset.none()
        return queryset.filter(**{self.field: integration_id})


class UsersProvisionedByFilter(ProvisionedByFilter):
    # A user has one access per tenant and an integration provisions one tenant: no duplicates.
    field = "accesses__provisioned_by_id"
