"""Admin pages of the tenants' profiles: each tenant's access to a user and what its identity
provider wrote about the person (`kestra_iam.profiles`)."""

from __future__ import annotations

from django.contrib import admin

from kestra_iam.admin_base import AuditedAdminMixin, TenantLockedMixin, created
from kestra_iam.admin_scope import TenantScopedAdmin
from kestra_iam.forms import TenantAccessForm, UserValueForm
from kestra_iam.models import TenantAccess, UserValue


class UserValueInline(admin.TabularInline):
    model = UserValue
    form = UserValueForm
    extra = 0
    fields = ("attribute", "position", "value", "type", "primary", "display", "extra")
    verbose_name = "multi-valued attribute"
    verbose_name_plural = "emails, phone numbers and other multi-valued attributes"


@admin.register(TenantAccess)
class TenantAccessAdmin(TenantScopedAdmin, AuditedAdminMixin, TenantLockedMixin, admin.ModelAdmin):
    """A tenant's access to a user and the tenant's profile of the person: what its identity
    provider wrote, seen by that tenant alone (`kestra_iam.profiles`)."""

    form = TenantAccessForm
    list_display = ("user_name", "tenant", "display_name", "active", "is_primary", created)
    list_filter = ("tenant", "active")
    list_select_related = ("user",)
    search_fields = ("user__user_name", "display_name", "name_family_name", "external_id")
    autocomplete_fields = ("user",)
    raw_id_fields = ("manager",)
    readonly_fields = ("provisioned_by_id", "is_primary", "created_at", "updated_at", "version")
    inlines = (UserValueInline,)
    fieldsets = (
        (None, {"fields": ("user", "tenant", "is_primary", "external_id", "active")}),
        (
            "Profile",
            {
                "fields": (
                    "display_name",
                    ("name_given_name", "name_middle_name", "name_family_name"),
                    ("name_honorific_prefix", "name_honorific_suffix"),
                    "name_formatted",
                    "nick_name",
                    "title",
                    "user_type",
                    "profile_url",
                    ("preferred_language", "locale", "timezone"),
                )
            },
        ),
        (
            "Enterprise",
            {
                "fields": (
                    ("employee_number", "cost_center"),
                    ("organization", "division", "department"),
                    "manager",
                )
            },
        ),
        ("History", {"fields": ("provisioned_by_id", "created_at", "updated_at", "version")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "user"] if obj is not None else fields

    # A method rather than the foreign key, which Django's list never wraps: long userNames
    # would push the list past its box.
    @admin.display(description="user", ordering="user__user_name_key")
    def user_name(self, access: TenantAccess) -> str:
        return access.user.user_name

    @admin.display(description="primary profile", boolean=True)
    def is_primary(self, access: TenantAccess) -> bool:
        return access.pk is not None and access.user.primary_tenant_id == access.tenant_id

    def audit_tenant_id(self, obj) -> str:
        return obj.tenant_id
