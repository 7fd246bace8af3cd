"""The role admin, warning before an edit or a delete breaks provisioning.

Roles are the IAM domain's and know nothing of integrations; this app re-registers the role
admin with warnings that name the integrations relying on a role (its SCIMProvisioner role, or
a binding of an integration's service account): on the role's page, on the delete
confirmation (one role or a selection), and after a save that leaves one unable to provision.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kestra_iam.admin import RoleAdmin
from kestra_iam.models import Role
from kestra_iam.permissions import Action, Resource
from provisioning.provisioner_role import SCIM_PROVISIONER_PERMISSIONS
from provisioning.readiness import role_and_binding_checks
from provisioning.selectors import integrations_relying_on

INTEGRATION_PAGE = "admin:provisioning_provisioningintegration_change"
# "Users: create, read, update; Groups: …", as the role's grid reads.
NEEDED_GRANTS = "; ".join(
    f"{Resource(resource).label}: {', '.join(Action(a).label.lower() for a in actions)}"
    for resource, actions in SCIM_PROVISIONER_PERMISSIONS.items()
)


def _names(integrations) -> str:
    """Each integration's name, linking to its page (where "Repair role and binding" is)."""
    return format_html_join(
        ", ",
        '<a href="{}">“{}”</a> ({})',
        ((reverse(INTEGRATION_PAGE, args=[i.pk]), i.name, i.tenant_id) for i in integrations),
    )


def _confirming_delete(request) -> bool:
    """The delete confirmation is showing (not the POST that deletes)."""
    if request.method == "GET":
        return True
    return request.POST.get("action") == "delete_selected" and not request.POST.get("post")


class ProvisioningAwareRoleAdmin(RoleAdmin):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        role = self.get_object(request, object_id)
        if role is not None and request.method == "GET":
            relying = integrations_relying_on([role])
            if relying:
                self.message_user(
                    request,
                    format_html(
                        "Provisioning integrations {} rely on this role: removing a grant SCIM "
                        "needs ({}) makes their requests fail with 403.",
                        _names(relying),
                        NEEDED_GRANTS,
                    ),
                    messages.WARNING,
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_deleted_objects(self, objs, request):
        if _confirming_delete(request):
            relying = integrations_relying_on(objs)
            if relying:
                self.message_user(
                    request,
                    format_html(
                        "Deleting this stops provisioning integrations {}: every SCIM request "
                        "they make is refused with 403 until the role is repaired (“Repair role "
                        "and binding” on each integration's page).",
                        _names(relying),
                    ),
                    messages.WARNING,
                )
        return super().get_deleted_objects(objs, request)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        broken = [
            (integration, check)
            for integration in integrations_relying_on([obj])
            for check in role_and_binding_checks(integration)
            if not check.ok
        ]
        for integration, check in broken:
            self.message_user(
                request,
                format_html(
                    "Integration {}: {} Fix: {}", _names([integration]), check.detail, check.fix
                ),
                messages.WARNING,
            )


admin.site.unregister(Role)
admin.site.register(Role, ProvisioningAwareRoleAdmin)
