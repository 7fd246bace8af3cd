"""Admin pages of the IAM domain. Grouped into Kestra's IAM and Tenants sections by the site."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group as DjangoPermissionGroup
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kestra_iam.admin_access import group_bindings_html, role_holders_html
from kestra_iam.admin_audit import AuditEventAdmin
from kestra_iam.admin_base import AuditedAdminMixin, TenantLockedMixin, created
from kestra_iam.admin_profiles import TenantAccessAdmin
from kestra_iam.admin_scope import (
    TenantScopedAdmin,
    escalation_error,
    last_admin_lockouts,
    scope_of,
)
from kestra_iam.admin_users import TenantAccessInline, UserAdmin
from kestra_iam.forms import RoleForm
from kestra_iam.models import (
    ApiToken,
    Binding,
    Group,
    GroupMembership,
    Role,
    ServiceAccount,
    Tenant,
    User,
)
from kestra_iam.rbac.grants import permissions_of
from kestra_iam.rbac.managed_roles import ADMIN_ROLE

# The audit trail's, the profiles' and the users' admins have modules of their own; importing
# them here registers them with the rest.
__all__ = ["AuditEventAdmin", "TenantAccessAdmin", "TenantAccessInline", "UserAdmin"]

# Django's permission groups would sit next to IAM groups under the same name; admin-site rights
# come from being a superuser or from bindings (kestra_iam.admin_scope) instead.
admin.site.unregister(DjangoPermissionGroup)


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("id", "name", "default_role", "user_count", "group_count", created)
    list_select_related = ("default_role",)
    search_fields = ("id", "name")
    readonly_fields = ("created_at",)

    def get_fields(self, request, obj=None):
        # A new tenant has no roles yet (it gets Kestra's managed roles when saved).
        fields = ["id", "name", "default_role", "created_at"]
        return fields if obj is not None else ["id", "name"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "default_role":
            tenant_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Role.objects.filter(tenant_id=tenant_id).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                user_count=Count("accesses", distinct=True),
                group_count=Count("groups", distinct=True),
            )
        )

    def audit_tenant_id(self, obj) -> str:
        return obj.pk

    # Tenants are the site administrator's to create and delete; a tenant administrator with
    # SETTINGS:UPDATE renames theirs and picks its default role.
    tenant_path = "pk"

    def has_add_permission(self, request):
        return scope_of(request).site_admin

    def has_delete_permission(self, request, obj=None):
        return scope_of(request).site_admin

    def scope_errors(self, request, tenant: Tenant) -> list[str]:
        role = tenant.default_role
        stored = Tenant.objects.filter(pk=tenant.pk).values_list("default_role_id", flat=True)
        if role is None or stored.first() == role.pk:
            return []
        missing = scope_of(request).missing_role(tenant.pk, role)
        return [escalation_error(missing, f"make {role.name} the default role")] if missing else []

    def get_readonly_fields(self, request, obj=None):
        # The id is part of every SCIM endpoint URL: it cannot change once issued.
        return (*self.readonly_fields, "id") if obj is not None else self.readonly_fields

    @admin.display(description="users", ordering="user_count")
    def user_count(self, tenant: Tenant) -> int:
        return tenant.user_count

    @admin.display(description="groups", ordering="group_count")
    def group_count(self, tenant: Tenant) -> int:
        return tenant.group_count


MEMBER_PREVIEW = 20


@admin.register(Group)
class GroupAdmin(TenantScopedAdmin, AuditedAdminMixin, TenantLockedMixin, admin.ModelAdmin):
    list_display = ("display_name", "tenant", "external_id", "member_count", created)
    list_filter = ("tenant",)
    list_select_related = ("tenant",)
    search_fields = ("display_name", "external_id", "=id")
    readonly_fields = ("id", "members_link", "role_bindings", "created_at", "updated_at", "version")
    fields = (
        "id",
        "tenant",
        "display_name",
        "external_id",
        "members_link",
        "role_bindings",
        "created_at",
        "updated_at",
        "version",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, group: Group) -> int:
        return group.member_count

    @admin.display(description="roles")
    def role_bindings(self, group: Group) -> str:
        return group_bindings_html(group)

    @admin.display(description="members")
    def members_link(self, group: Group) -> str:
        """The first members by name, linking to their pages, and the paginated list of all of
        them (a group may hold tens of thousands: never all of them inline)."""
        if group.pk is None:
            return "—"
        count = group.memberships.count()
        first = (
            User.objects.filter(accesses__memberships__group=group)
            .order_by("user_name_key")
            .only("pk", "user_name")[:MEMBER_PREVIEW]
        )
        preview = format_html_join(
            "",
            '<li><a href="{}">{}</a></li>',
            ((reverse("admin:kestra_iam_user_change", args=[u.pk]), u.user_name) for u in first),
        )
        url = (
            reverse("admin:kestra_iam_groupmembership_changelist") + f"?group__id__exact={group.pk}"
        )
        return format_html(
            '<ul class="member-preview">{}</ul><a href="{}">{}</a>',
            preview,
            url,
            f"All {count} member{'s' if count != 1 else ''} →" if count else "No members",
        )


@admin.register(GroupMembership)
class GroupMembershipAdmin(TenantScopedAdmin, AuditedAdminMixin, admin.ModelAdmin):
    """Reached from a group's page; not listed in the index."""

    tenant_path = "group__tenant_id"

    list_display = ("member", "group", "tenant", created)
    list_select_related = ("group__tenant", "access__user")
    list_filter = ("group__tenant",)
    search_fields = ("access__user__user_name", "group__display_name")
    raw_id_fields = ("group", "access")
    readonly_fields = ("created_at",)

    def get_model_perms(self, request):
        return {}  # hidden from the index and the sidebar

    def audit_tenant_id(self, obj) -> str:
        return obj.group.tenant_id if obj.group_id else ""

    @admin.display(description="user", ordering="access__user__user_name_key")
    def member(self, membership: GroupMembership) -> User:
        return membership.access.user

    @admin.display(description="tenant", ordering="group__tenant")
    def tenant(self, membership: GroupMembership) -> Tenant:
        return membership.group.tenant


@admin.register(Role)
class RoleAdmin(TenantScopedAdmin, AuditedAdminMixin, TenantLockedMixin, admin.ModelAdmin):
    form = RoleForm
    list_display = ("name", "tenant", "permission_summary", "binding_count", "updated_at")
    list_filter = ("tenant",)
    search_fields = ("name", "description")
    readonly_fields = ("holders", "created_at", "updated_at")
    fields = ("tenant", "name", "description", "grants", "holders", "created_at", "updated_at")

    @admin.display(description="held by")
    def holders(self, role: Role) -> str:
        return role_holders_html(role)

    def scope_errors(self, request, role: Role) -> list[str]:
        """Permissions the role gains must be the editor's own: no role (theirs included) is
        made larger than what they hold; and the Admin role keeps its name and grants."""
        scope = scope_of(request)
        stored = Role.objects.filter(pk=role.pk).values_list("name", "permissions").first()
        name, permissions = stored or (role.name, {})
        if (
            not scope.site_admin
            and name == ADMIN_ROLE
            and (
                role.name != name or permissions_of(permissions) - permissions_of(role.permissions)
            )
        ):
            return [
                f"The {ADMIN_ROLE} role administers the tenant: only a site administrator may "
                "rename it or take permissions from it."
            ]
        gained = permissions_of(role.permissions) - permissions_of(permissions)
        missing = scope.missing(role.tenant_id, gained)
        if not missing:
            return []
        return [escalation_error(missing, f"give role {role.name} these permissions")]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(binding_count=Count("bindings"))

    @admin.display(description="permissions")
    def permission_summary(self, role: Role) -> str:
        return (
            "; ".join(
                f"{resource}: {', '.join(actions)}"
                for resource, actions in role.permissions.items()
            )
            or "—"
        )

    @admin.display(description="bindings", ordering="binding_count")
    def binding_count(self, role: Role) -> int:
        return role.binding_count


@admin.register(Binding)
class BindingAdmin(TenantScopedAdmin, AuditedAdminMixin, TenantLockedMixin, admin.ModelAdmin):
    list_display = ("role", "subject_display", "subject_type", "tenant", "namespace", created)
    list_filter = ("tenant", "role__name")
    list_select_related = ("role", "user", "group", "service_account", "tenant")
    search_fields = (
        "role__name",
        "user__user_name",
        "group__display_name",
        "service_account__name",
    )
    autocomplete_fields = ("role", "user", "group", "service_account")
    readonly_fields = ("created_at",)

    def scope_errors(self, request, binding: Binding) -> list[str]:
        """The role bound must hold nothing the binder lacks where it is bound, and changing
        the tenant's last Admin binding into something else is the site administrator's."""
        scope = scope_of(request)
        stored = Binding.objects.filter(pk=binding.pk).first() if binding.pk else None
        fields = ("role_id", "namespace", "user_id", "group_id", "service_account_id")
        changed = stored is not None and any(
            getattr(stored, name) != getattr(binding, name) for name in fields
        )
        if changed and not scope.site_admin and (lockouts := last_admin_lockouts([stored])):
            return [f"This change would remove {lockouts[0]}."]
        missing = scope.missing_role(binding.tenant_id, binding.role, binding.namespace)
        return [escalation_error(missing, f"bind role {binding.role.name}")] if missing else []

    @admin.display(description="subject")
    def subject_display(self, binding: Binding) -> str:
        return str(binding.subject)

    @admin.display(description="subject type")
    def subject_type(self, binding: Binding) -> str:
        if binding.user_id:
            return "user"
        return "group" if binding.group_id else "service account"


class ApiTokenInline(admin.TabularInline):
    """Tokens are issued by services (provisioning); here they are only listed, never shown."""

    model = ApiToken
    extra = 0
    can_delete = False
    fields = ("display", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ServiceAccount)
class ServiceAccountAdmin(
    TenantScopedAdmin, AuditedAdminMixin, TenantLockedMixin, admin.ModelAdmin
):
    list_display = ("name", "tenant", "description", "token_count", created)
    list_filter = ("tenant",)
    search_fields = ("name", "description")
    readonly_fields = ("created_at",)
    inlines = (ApiTokenInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(token_count=Count("tokens"))

    @admin.display(description="tokens", ordering="token_count")
    def token_count(self, account: ServiceAccount) -> int:
        return account.token_count
