"""The role admin, warning before an edit or a delete breaks provisioning.

Roles are the IAM domain's and know nothing of integrations; this app re-registers the role
admin with warnings that name the integrations relying on a role (its SCIMProvisioner role, or
a binding of an integration's service account): on the role's page, on the delete
confirmation (one role or a selection), and after a save that leaves one unable to provision.
"""

from __future__ import annotations

from django.contrib import admin, messages

from kestra_iam.admin import RoleAdmin
from kestra_iam.models import Role
from kestra_iam.permissions import Action, Resource
from provisioning.provisioner_role import SCIM_PROVISIONER_PERMISSIONS
from provisioning.readiness import role_and_binding_checks
from provisioning.selectors import integrations_relying_on

# "Users: create, read, update; Groups: …", as the role's grid reads.
NEEDED_GRANTS = "; ".join(
    f"{Resource(resource).label}: {', '.join(Action(a).label.lower() for a in actions)}"
    for resource, actions in SCIM_PROVISIONER_PERMISSIONS.items()
)


def _names(integrations) -> str:
    return ", ".join(f"“{i.name}” ({i.tenant_id})" for i in integrations)


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
                    f"Provisioning integrations {_names(relying)} rely on this role: removing "
                    f"a grant SCIM needs ({NEEDED_GRANTS}) makes their requests fail "
                    "with 403.",
                    messages.WARNING,
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_deleted_objects(self, objs, request):
        if _confirming_delete(request):
            relying = integrations_relying_on(objs)
            if relying:
                self.message_user(
                    request,
                    f"Deleting this stops provisioning integrations {_names(relying)}: every "
                    "SCIM request they make is refused with 403 until the role is repaired "
                    "(“Repair role and binding” on each integration's page).",
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
                f"Integration “{integration.name}” ({integration.tenant_id}): {check.detail} "
                f"Fix: {check.fix}",
                messages.WARNING,
            )


admin.site.unregister(Role)
admin.site.register(Role, ProvisioningAwareRoleAdmin)
