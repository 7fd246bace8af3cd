"""Authorisation of SCIM requests: the integration must be enabled, and its service account's
role bindings in the tenant must grant the resource and action the request needs."""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from kestra_iam.permissions import Action, Permission, Resource
from provisioning.tenancy import tenancy_enabled


class IntegrationEnabled(BasePermission):
    """A disabled integration — or any integration while tenancy is off — refuses everything."""

    def has_permission(self, request, view) -> bool:
        if not tenancy_enabled():
            raise PermissionDenied(
                "Provisioning is unavailable: tenants are disabled on this instance."
            )
        if not request.auth.integration.enabled:
            raise PermissionDenied(
                "This integration is disabled; an administrator can enable it in "
                "Administration → IAM → Provisioning."
            )
        return True


class HasSCIMProvisionerRole(BasePermission):
    """The request's (resource, action), from the view, must be granted to the caller."""

    def has_permission(self, request, view) -> bool:
        needed: tuple[Resource, Action] | None = view.required_permission(request)
        if needed is None:
            return True
        resource, action = needed
        if request.auth.allows(Permission(resource, action)):
            return True
        raise PermissionDenied(
            f"The integration's service account lacks the permission {resource.value}:"
            f"{action.value} in tenant {request.auth.tenant.pk!r} (see its role bindings)."
        )
