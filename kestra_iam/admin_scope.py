"""Who may do what in the admin, decided by the access-decision engine.

The site administrator (a superuser) sees and manages everything. Everyone else is a *tenant
administrator*: they see the tenants where their access is active, and in each what their
bindings there allow — list and view need READ on the page's resource, changes UPDATE,
additions CREATE, deletions DELETE (`ADMIN_RESOURCES` says which resource each page is about).
The scope is read once per request, from the database as it is (`kestra_iam.rbac`), so an
access that Entra disabled a moment ago, or a binding removed, counts on the very next page.

Every model admin takes its queryset, its permissions and its choices from `TenantScopedAdmin`,
so no page, filter, autocomplete or raw id can reach past it; `AdminScope.missing` is the rule
against granting more than one holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import reduce

from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Q
from django.http import HttpRequest

from kestra_iam.models import Binding, Group, Role, ServiceAccount, Tenant, TenantAccess
from kestra_iam.permissions import Action, Permission, Resource
from kestra_iam.rbac.engine import subject_grants
from kestra_iam.rbac.grants import Grant, permissions_of, reasons_for
from kestra_iam.rbac.managed_roles import ADMIN_ROLE
from kestra_iam.rbac.policy import SubjectRef

# The resource of each admin page ("app_label.ModelName" → Resource). Pages not listed are the
# site administrator's alone.
ADMIN_RESOURCES: dict[str, Resource] = {
    "kestra_iam.Tenant": Resource.SETTINGS,
    "kestra_iam.User": Resource.USERS,
    "kestra_iam.TenantAccess": Resource.USERS,
    "kestra_iam.Group": Resource.GROUPS,
    "kestra_iam.GroupMembership": Resource.GROUPS,
    "kestra_iam.Role": Resource.ROLES,
    "kestra_iam.Binding": Resource.BINDINGS,
    "kestra_iam.ServiceAccount": Resource.SERVICE_ACCOUNTS,
    "kestra_iam.AuditEvent": Resource.AUDITLOGS,
    # An integration is a service account with a Secret Token: viewing, changing (disable,
    # enable, rotate, repair) and deleting it are SERVICE_ACCOUNTS permissions; creating one
    # also binds that account to SCIMProvisioner, so it needs what a binding of it needs.
    "provisioning.ProvisioningIntegration": Resource.SERVICE_ACCOUNTS,
}


@dataclass(frozen=True)
class AdminScope:
    """What one signed-in person may do in the admin, tenant by tenant."""

    site_admin: bool = False
    grants: Mapping[str, tuple[Grant, ...]] = field(default_factory=dict)  # per active tenant

    @property
    def tenant_ids(self) -> list[str]:
        """The tenants they administer anything in (every tenant's for the site administrator
        is not listed: ask `site_admin` first)."""
        return sorted(tenant for tenant, grants in self.grants.items() if grants)

    def allows(self, resource: Resource, action: Action, tenant_id: str | None = None) -> bool:
        """In this tenant, or (tenant_id None) in at least one of theirs."""
        if self.site_admin:
            return True
        if tenant_id is None:
            return bool(self.tenants_allowing(resource, action))
        permission = Permission(resource, action)
        return bool(reasons_for(self.grants.get(tenant_id, ()), permission, ""))

    def tenants_allowing(self, resource: Resource, action: Action) -> list[str]:
        """The tenants where they hold resource:action (not meaningful for a site admin)."""
        permission = Permission(resource, action)
        return sorted(
            tenant for tenant, grants in self.grants.items() if reasons_for(grants, permission, "")
        )

    def missing(
        self, tenant_id: str, permissions: Iterable[Permission], namespace: str = ""
    ) -> list[Permission]:
        """Of these permissions, the ones they do not hold there themselves — what they may not
        hand to anyone else (a binding, a role's grants, the default role)."""
        if self.site_admin:
            return []
        grants = self.grants.get(tenant_id, ())
        return sorted(
            permission
            for permission in permissions
            if not reasons_for(grants, permission, namespace if permission.namespaced else "")
        )

    def missing_role(self, tenant_id: str, role: Role, namespace: str = "") -> list[Permission]:
        return self.missing(tenant_id, permissions_of(role.permissions), namespace)


SITE_ADMIN = AdminScope(site_admin=True)
NOBODY = AdminScope()


def admin_scope_of(user) -> AdminScope:
    """Read from the database: a superuser's is everything; anyone else's, the tenant-wide and
    namespaced grants of each tenant where their access is active."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOBODY
    if user.is_superuser:
        return SITE_ADMIN
    subject = SubjectRef("user_id", str(user.pk))
    grants = {}
    accesses = TenantAccess.objects.filter(user=user).exclude(active=False).select_related("tenant")
    for access in accesses.order_by("tenant_id"):
        _, held = subject_grants(tenant=access.tenant, subject=subject)
        grants[access.tenant_id] = tuple(held)
    return AdminScope(grants=grants)


def scope_of(request: HttpRequest) -> AdminScope:
    """The request's scope, read once per request."""
    scope = getattr(request, "_admin_scope", None)
    if scope is None or getattr(request, "_admin_scope_user", None) != request.user.pk:
        scope = admin_scope_of(request.user)
        request._admin_scope, request._admin_scope_user = scope, request.user.pk
    return scope


def resource_of_admin(opts) -> Resource | None:
    return ADMIN_RESOURCES.get(f"{opts.app_label}.{opts.object_name}")


def follow(obj, path: str):
    """`obj.group.tenant_id` for path "group__tenant_id"."""
    return reduce(lambda value, name: getattr(value, name, None), path.split("__"), obj)


class TenantScopedAdmin:
    """The one place an admin page decides what a tenant administrator sees and may do.

    `tenant_path` leads from the model to its tenant's id; querysets keep the tenants where the
    person holds READ, permissions ask the scope for the object's tenant, tenant choices keep the
    tenants where they may add, and every other choice keeps the objects of their tenants.
    `scope_errors` says why a saved form would grant more than they hold.
    """

    tenant_path = "tenant_id"

    @property
    def scope_resource(self) -> Resource | None:
        return resource_of_admin(self.model._meta)

    def scoped(self, request, queryset, action: Action = Action.READ):
        scope = scope_of(request)
        if scope.site_admin:
            return queryset
        if self.scope_resource is None:
            return queryset.none()
        tenants = scope.tenants_allowing(self.scope_resource, action)
        return queryset.filter(**{f"{self.tenant_path}__in": tenants})

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not queryset.query.order_by:
            # Explicit, so that a count annotated later (which drops Meta.ordering) keeps the
            # stable order autocompletes paginate by.
            queryset = queryset.order_by(*(self.model._meta.ordering or ["pk"]))
        return self.scoped(request, queryset)

    def _scope_allows(self, request, action: Action, obj=None) -> bool:
        scope = scope_of(request)
        if scope.site_admin:
            return True
        if self.scope_resource is None:
            return False
        tenant_id = None if obj is None else follow(obj, self.tenant_path)
        if obj is not None and not tenant_id:
            return False  # a global object (an event of no tenant): the site's alone
        return scope.allows(self.scope_resource, action, tenant_id)

    def has_module_permission(self, request):
        return self._scope_allows(request, Action.READ)

    def has_view_permission(self, request, obj=None):
        return self._scope_allows(request, Action.READ, obj)

    def has_change_permission(self, request, obj=None):
        return self._scope_allows(request, Action.UPDATE, obj)

    def has_add_permission(self, request, *args):
        return self._scope_allows(request, Action.CREATE)

    def has_delete_permission(self, request, obj=None):
        return self._scope_allows(request, Action.DELETE, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = scope_of(request)
        if not scope.site_admin and "queryset" not in kwargs:
            kwargs["queryset"] = self.scoped_choices(request, db_field.related_model)
            if db_field.related_model is Tenant and len(choices := list(kwargs["queryset"])) == 1:
                kwargs["initial"] = choices[0].pk  # their only tenant, chosen for them
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def scoped_choices(self, request, model):
        """What a tenant administrator may pick for a foreign key: a tenant where they may add
        here; a tenant's object in one of their tenants."""
        scope = scope_of(request)
        manager = model._default_manager
        if model is Tenant:
            allowed = scope.tenants_allowing(self.scope_resource, Action.CREATE)
            return manager.filter(pk__in=allowed)
        related_admin = self.admin_site._registry.get(model)
        if isinstance(related_admin, TenantScopedAdmin):
            ordering = related_admin.get_ordering(request) or ()
            return related_admin.scoped(request, manager.order_by(*ordering))
        return manager.none()

    def get_autocomplete_fields(self, request):
        """A raw id field would print the label of any id typed into it; for a tenant
        administrator it is an autocomplete, which offers (and names) only their choices."""
        fields = tuple(super().get_autocomplete_fields(request))
        if scope_of(request).site_admin:
            return fields
        return (*fields, *(name for name in self.raw_id_fields if name not in fields))

    def get_list_filter(self, request):
        """A related filter lists the values of what the person may see, not every tenant's."""
        filters = super().get_list_filter(request)
        if scope_of(request).site_admin:
            return filters
        return [self._scoped_filter(entry) for entry in filters]

    def _scoped_filter(self, entry):
        if not isinstance(entry, str):
            return entry
        path = entry
        while True:
            field = get_fields_from_path(self.model, path)[-1]
            if field.is_relation or "__" not in path:
                break
            path = path.rsplit("__", 1)[0]  # role__name: filter by the role
        return (path, RelatedOnlyFieldListFilter) if field.is_relation else entry

    def scope_errors(self, request, obj) -> list[str]:
        """Why saving `obj` would reach past what the person holds (nothing, by default)."""
        return []

    def get_deleted_objects(self, objs, request):
        """Django's confirmation, refusing (and saying why) a deletion that would leave a
        tenant without an Admin binding, unless the site administrator asks."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not scope_of(request).site_admin:
            perms_needed = {*perms_needed, *last_admin_lockouts(objs)}
        return deleted, counts, perms_needed, protected

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ScopedForm(form):
            def _post_clean(self):
                super()._post_clean()
                if not self.errors:
                    for message in model_admin.scope_errors(request, self.instance):
                        self.add_error(None, message)

        ScopedForm.__name__ = form.__name__
        return ScopedForm


def last_admin_lockouts(objs) -> list[str]:
    """What deleting these objects would take from a tenant that only a site administrator may
    take: its last tenant-wide binding of the Admin role, through the binding itself, its role,
    group, service account or the user's access."""
    removed = Q(pk__in=[])
    for obj in objs:
        if isinstance(obj, Binding):
            removed |= Q(pk=obj.pk)
        elif isinstance(obj, Group):
            removed |= Q(group_id=obj.pk)
        elif isinstance(obj, Role):
            removed |= Q(role_id=obj.pk)
        elif isinstance(obj, ServiceAccount):
            removed |= Q(service_account_id=obj.pk)
        elif isinstance(obj, TenantAccess):
            removed |= Q(user_id=obj.user_id, tenant_id=obj.tenant_id)
    admin_bindings = Binding.objects.filter(role__name=ADMIN_ROLE, namespace="")
    hit = set(admin_bindings.filter(removed).values_list("tenant_id", flat=True))
    kept = admin_bindings.filter(tenant_id__in=hit).exclude(removed)
    left = set(kept.values_list("tenant_id", flat=True))
    return [
        f"the last Admin binding of tenant {tenant} (it would lock the tenant out of its own "
        "administration; only a site administrator may remove it)"
        for tenant in sorted(hit - left)
    ]


def escalation_error(permissions: list[Permission], what: str) -> str:
    listed = ", ".join(str(p) for p in permissions)
    return (
        f"You cannot {what}: it would grant {listed}, which you do not hold yourself in this "
        "tenant. Ask someone who holds them, or a site administrator."
    )
