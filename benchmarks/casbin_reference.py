"""The same policy in pycasbin, the reference the access scenario compares the engine against.

Casbin's RBAC with domains, with the namespace rule as a matcher function:

- `p = sub, dom, ns, role`: one line per binding; the subject is a user (`u:<id>`) or a group
  (`g:<id>`), `ns` is empty for a tenant-wide binding;
- `g = _, _, _`: a user's membership of a group in a tenant (`u:<id>, g:<id>, tenant`);
- `g2 = _, _`: a role's permissions (`role:<id>, FLOWS:UPDATE`);
- the matcher: same tenant, the binding's namespace covers the asked one, the bound role holds
  the permission, and the user is the binding's subject or a member of its group.

The lines are appended to the model the way casbin's own file adapter appends them: the
model's `add_policies` checks each new line against every earlier one, which at 2.5 million
membership lines does not finish in any useful time.
"""

from __future__ import annotations

import casbin
from casbin.persist.adapter import Adapter

MODEL = """
[request_definition]
r = sub, dom, ns, perm

[policy_definition]
p = sub, dom, ns, role

[role_definition]
g = _, _, _
g2 = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.dom == p.dom && nsMatch(r.ns, p.ns) && g2(p.role, r.perm) && g(r.sub, p.sub, r.dom)
"""


def namespace_match(asked: str, scope: str) -> bool:
    """A binding on `scope` covers `asked` and everything below it; an empty scope, all."""
    return scope == "" or asked == scope or asked.startswith(scope + ".")


class RowsAdapter(Adapter):
    """Loads policy lines already read from the database (lists of strings, one per line)."""

    def __init__(self, bindings: list, memberships: list, role_permissions: list) -> None:
        self.lines = {"p": bindings, "g": memberships, "g2": role_permissions}

    def load_policy(self, model) -> None:
        for key, lines in self.lines.items():
            model.model[key[0]][key].policy.extend(lines)


def enforcer(adapter: RowsAdapter) -> casbin.Enforcer:
    model = casbin.Enforcer.new_model(text=MODEL)
    loaded = casbin.Enforcer(model, adapter)
    loaded.add_function("nsMatch", namespace_match)
    # pycasbin's domain role manager compares names with a default matching function, which
    # makes every link it adds scan every role known so far: at 2.5 million links that never
    # finishes. Without one, names are compared for equality all the same, with no scan.
    loaded.get_role_manager().add_matching_func(None)
    return loaded
