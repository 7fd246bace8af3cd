"""Kestra's RBAC: what the roles bound to a subject allow, decided in one place.

- `grants`: the rule, pure — a grant (a role reaching a subject by a binding, a group's binding
  or the tenant's default role, in a scope) and what it allows;
- `policy`: reading subjects and their grants from the database, fresh on every call;
- `engine`: the questions (check a batch, effective permissions, namespaces holding one);
- `services`: the writes that change decisions (roles, bindings, the default role);
- `managed_roles`: Admin, Developer, Editor, Launcher and Viewer, which every tenant starts with.
"""
