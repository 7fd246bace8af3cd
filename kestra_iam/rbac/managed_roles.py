"""The roles every tenant starts with: Kestra's managed roles Admin, Developer, Editor, Launcher
and Viewer.

Kestra documents the five names and that Admin grants everything; the other four are shown in
its UI rather than written down, so what each holds here is this project's reading of their
names, kept as one table (the README prints it):

- **Admin**: every action on every resource, the tenant's IAM included;
- **Developer**: every action on the workflow resources (flows, executions, templates,
  namespaces and their files, KV store, secrets, dashboards, blueprints, apps and their
  executions, tests, assets); reads the audit logs;
- **Editor**: creates, reads and updates the workflow resources, deletes nothing, and reads
  secrets without changing them;
- **Launcher**: reads flows, namespaces and apps, and starts and follows executions;
- **Viewer**: reads the workflow resources, secrets excepted.

They are created once, when the tenant is; after that they are the tenant's like any other
role (edited or deleted in the admin or with `manage.py role`), and never re-created behind
an administrator's back.
"""

from __future__ import annotations

from django.db import transaction

from kestra_iam.models import Role, Tenant
from kestra_iam.permissions import (
    Action,
    Permissions,
    Resource,
    every_permission,
    normalise_permissions,
)

WORKFLOW = (
    Resource.FLOWS,
    Resource.EXECUTIONS,
    Resource.TEMPLATES,
    Resource.NAMESPACES,
    Resource.KVSTORE,
    Resource.SECRETS,
    Resource.DASHBOARDS,
    Resource.BLUEPRINTS,
    Resource.APPS,
    Resource.APPEXECUTIONS,
    Resource.TESTS,
    Resource.ASSETS,
)
ALL = [a.value for a in Action]
CRU = [Action.CREATE.value, Action.READ.value, Action.UPDATE.value]
READ = [Action.READ.value]
CR = [Action.CREATE.value, Action.READ.value]


def _on(resources, actions) -> Permissions:
    return {resource.value: list(actions) for resource in resources}


# The role that administers a tenant, its IAM included (`kestra_iam.admin_scope`).
ADMIN_ROLE = "Admin"

MANAGED_ROLES: dict[str, tuple[str, Permissions]] = {
    ADMIN_ROLE: ("Full access to everything in the tenant, its IAM included.", every_permission()),
    "Developer": (
        "Builds and runs workflows: every action on flows, executions, namespaces, KV store, "
        "secrets, apps, tests and assets; reads the audit logs.",
        {**_on(WORKFLOW, ALL), Resource.AUDITLOGS.value: READ},
    ),
    "Editor": (
        "Edits workflows without deleting anything; reads secrets.",
        {**_on(WORKFLOW, CRU), Resource.SECRETS.value: READ},
    ),
    "Launcher": (
        "Starts and follows executions of existing flows and apps.",
        {
            **_on((Resource.FLOWS, Resource.NAMESPACES, Resource.APPS), READ),
            **_on((Resource.EXECUTIONS, Resource.APPEXECUTIONS), CR),
        },
    ),
    "Viewer": (
        "Reads workflows, executions and their resources; no secrets.",
        _on((r for r in WORKFLOW if r is not Resource.SECRETS), READ),
    ),
}


def managed_roles_create(*, tenant: Tenant) -> list[Role]:
    """Create the managed roles a new tenant lacks (a role already called so is left as it
    is); returns the roles created."""
    with transaction.atomic():
        taken = set(Role.objects.filter(tenant=tenant).values_list("name", flat=True))
        return Role.objects.bulk_create(
            Role(
                tenant=tenant,
                name=name,
                description=description,
                permissions=normalise_permissions(permissions),
            )
            for name, (description, permissions) in MANAGED_ROLES.items()
            if name not in taken
        )
