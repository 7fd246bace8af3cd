"""The provisioning app's admin: integrations (list, console page, buttons), the audit
trail's filter by integration, and the role admin's warnings about integrations. Importing
the modules registers them."""

from provisioning.admin import audit, integrations, roles

__all__ = ["audit", "integrations", "roles"]
