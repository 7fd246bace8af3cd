"""The provisioning app's admin: integrations (list, console page, buttons), the audit
trail's filter by integration, the role admin's warnings about integrations, and the user
list's "provisioned by". Importing the modules registers them."""

from provisioning.admin import audit, integrations, roles, users

__all__ = ["audit", "integrations", "roles", "users"]
