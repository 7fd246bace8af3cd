"""Admin pages of the global users: the identity, each tenant's access to it, and what it may do
there; a tenant administrator reads a person through their own tenants only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kestra_iam.admin_access import effective_access_html
from kestra_iam.admin_base import AuditedAdminMixin, audited_admin_view, created
from kestra_iam.admin_scope import TenantScopedAdmin, scope_of
from kestra_iam.forms import UserCreationForm, UserEditForm
from kestra_iam.models import (
    Group,
    Tenant,
    TenantAccess,
    User,
)
from kestra_iam.permissions import Action, Resource
from kestra_iam.profiles import primary_profile, primary_profile_field


class TenantAccessInline(admin.TabularInline):
    """The user's tenants; each tenant's profile of the user is a page of its own."""

    model = TenantAccess
    extra = 0
    # The profile's page has the rest (its update time, its values); this row keeps to a width.
    fields = ["tenant", "profile_link", "groups", "external_id", "active", "created_at"]
    readonly_fields = ["profile_link", "groups", "created_at"]
    autocomplete_fields = ("tenant",)
    verbose_name = "access and profile per tenant"
    verbose_name_plural = "access and profile per tenant"

    def get_queryset(self, request):
        # The viewer's tenants only (all of them for the site administrator).
        return super().get_queryset(request).filter(tenant__in=users_tenants(request))

    # Decided like the user's page (Django's model permissions grant nothing here): a tenant
    # administrator reads their tenants' rows, and changes a profile on its own page.
    def has_view_permission(self, request, obj=None):
        return scope_of(request).allows(Resource.USERS, Action.READ)

    def has_change_permission(self, request, obj=None):
        return scope_of(request).site_admin

    def has_add_permission(self, request, obj=None):
        return scope_of(request).site_admin

    def has_delete_permission(self, request, obj=None):
        return scope_of(request).site_admin

    @admin.display(description="profile")
    def profile_link(self, access: TenantAccess) -> str:
        if access.pk is None:
            return "—"
        url = reverse("admin:kestra_iam_tenantaccess_change", args=[access.pk])
        return format_html('<a href="{}">{}</a>', url, access.display_name or "(no displayName)")

    @admin.display(description="groups in this tenant")
    def groups(self, access: TenantAccess) -> str:
        if access.pk is None:
            return "—"
        groups = Group.objects.filter(memberships__access=access).order_by("display_name_key")
        links = [
            (reverse("admin:kestra_iam_group_change", args=[pk]), name)
            for pk, name in groups.values_list("pk", "display_name")
        ]
        return format_html_join(", ", '<a href="{}">{}</a>', links) if links else "none"


class DisabledInTenantFilter(admin.SimpleListFilter):
    """Users whose access to a tenant its identity provider set to `active: false`."""

    title = "disabled in tenant"
    parameter_name = "disabled_in"

    def lookups(self, request, model_admin):
        return [(pk, pk) for pk in users_tenants(request).values_list("pk", flat=True)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        disabled = TenantAccess.objects.filter(tenant_id=self.value(), active=False)
        return queryset.filter(pk__in=disabled.values("user_id"))


class InTenantFilter(DisabledInTenantFilter):
    """Users with an access to a tenant (of those the viewer administers)."""

    title = "in tenant"
    parameter_name = "in_tenant"

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        accesses = TenantAccess.objects.filter(tenant_id=self.value())
        return queryset.filter(pk__in=accesses.values("user_id"))


def users_tenants(request):
    """The tenants whose users the viewer may list: all, for the site administrator."""
    scope = scope_of(request)
    tenants = Tenant.objects.order_by("pk")
    if scope.site_admin:
        return tenants
    return tenants.filter(pk__in=scope.tenants_allowing(Resource.USERS, Action.READ))


@admin.register(User)
class UserAdmin(TenantScopedAdmin, AuditedAdminMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    # Lists, so that provisioning can add which integration provisioned each access.
    list_display = ["user_name", "primary_display_name", "access_states", "is_staff", created]
    list_filter = ["accesses__tenant", DisabledInTenantFilter, "is_staff", "is_active"]
    # Any tenant's profile finds the person: the site administrator sees every tenant.
    search_fields = (
        "user_name",
        "accesses__display_name",
        "accesses__name_given_name",
        "accesses__name_family_name",
        "=id",
    )
    ordering = ("user_name_key",)
    readonly_fields = (
        "id",
        "primary_profile_link",
        "effective_access",
        "created_at",
        "updated_at",
        "last_login",
        "version",
    )
    filter_horizontal = ("user_permissions",)
    inlines = (TenantAccessInline,)
    fieldsets = (
        (None, {"fields": ("id", "user_name", "password")}),
        ("Profiles", {"fields": ("primary_tenant", "primary_profile_link")}),
        ("Access", {"fields": ("effective_access",)}),
        (
            "Admin site access",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "user_permissions"),
                "classes": ("collapse",),
            },
        ),
        ("History", {"fields": ("created_at", "updated_at", "last_login", "version")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("user_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if scope_of(request).site_admin:
            return queryset.prefetch_related("accesses").annotate(
                primary_display_name=primary_profile_field("display_name")
            )
        # A tenant administrator sees a person through their own tenants only: no other
        # tenant's access, profile or primary profile.
        seen = TenantAccess.objects.filter(tenant__in=users_tenants(request))
        return queryset.prefetch_related(Prefetch("accesses", queryset=seen))

    # --- what a tenant administrator sees of a user: read only, through their tenants -----

    def scoped(self, request, queryset, action: Action = Action.READ):
        if scope_of(request).site_admin:
            return queryset
        seen = TenantAccess.objects.filter(tenant__in=users_tenants(request))
        return queryset.filter(pk__in=seen.values("user_id"))

    def _scope_allows(self, request, action: Action, obj=None) -> bool:
        """The identity, its password and the site's own rights are the site administrator's;
        a tenant administrator with USERS:READ views the people of their tenants."""
        scope = scope_of(request)
        if scope.site_admin:
            return True
        if action is not Action.READ or not scope.allows(Resource.USERS, Action.READ):
            return False
        seen = TenantAccess.objects.filter(tenant__in=users_tenants(request))
        return obj is None or seen.filter(user_id=obj.pk).exists()

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if scope_of(request).site_admin:
            return shown
        return [c for c in shown if c not in ("primary_display_name", "is_staff")]

    def get_list_filter(self, request):
        if scope_of(request).site_admin:
            return self.list_filter
        kept = [f for f in self.list_filter if isinstance(f, type)]
        return [InTenantFilter, *kept]

    def get_search_fields(self, request):
        # Other tenants' profiles are not searched on their behalf.
        return self.search_fields if scope_of(request).site_admin else ("user_name", "=id")

    def get_fieldsets(self, request, obj=None):
        if obj is None or scope_of(request).site_admin:
            return super().get_fieldsets(request, obj)
        tenant_ids = list(users_tenants(request).values_list("pk", flat=True))

        @admin.display(description="effective permissions")
        def effective_access(user: User) -> str:
            return effective_access_html(user, tenant_ids=tenant_ids)

        return (
            (None, {"fields": ("id", "user_name")}),
            ("Access", {"fields": (effective_access,)}),
            ("History", {"fields": ("created_at", "updated_at")}),
        )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    @audited_admin_view
    def user_change_password(self, request, *args, **kwargs):
        return super().user_change_password(request, *args, **kwargs)

    @admin.display(description="primary profile")
    def primary_profile_link(self, user: User) -> str:
        """The profile this site shows, or why there is none."""
        profile = primary_profile(user) if user.pk else None
        if profile is None:
            if user.primary_tenant_id:
                return f"none while tenant {user.primary_tenant_id} has no access to this user"
            return "none: no tenant's profile is shown for this user"
        url = reverse("admin:kestra_iam_tenantaccess_change", args=[profile.pk])
        return format_html(
            '<a href="{}">{} in {}</a>',
            url,
            profile.display_name or user.user_name,
            profile.tenant_id,
        )

    @admin.display(description="display name", ordering="primary_display_name")
    def primary_display_name(self, user: User) -> str:
        """The primary profile's displayName (`kestra_iam.profiles`)."""
        return user.primary_display_name or "—"

    @admin.display(description="effective permissions")
    def effective_access(self, user: User) -> str:
        """Per tenant, by namespace, and where each permission comes from."""
        return effective_access_html(user)

    @admin.display(description="access per tenant")
    def access_states(self, user: User) -> str:
        """Each tenant the user is in, and whether its identity provider disabled it there."""
        accesses = sorted(user.accesses.all(), key=lambda access: access.tenant_id)
        if not accesses:
            return "—"
        return format_html_join(
            ", ",
            '<span class="access {}">{}{}</span>',
            (
                (
                    "disabled" if access.active is False else "active",
                    access.tenant_id,
                    " (disabled)" if access.active is False else "",
                )
                for access in accesses
            ),
        )
