"""The engine against a brute-force reference, over random tenants, groups, roles, bindings,
namespaces and accesses, on the database the suite runs on (SQLite and PostgreSQL in CI).

The reference is written from the rules, not from the engine: walk every binding of the tenant,
keep those whose subject is the user (or a group of the tenant the user is in), add the default
role, and compare namespaces part by part.
"""

import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kestra_iam.models import Binding, Group, GroupMembership, Role, Tenant, TenantAccess, User
from kestra_iam.permissions import Action, Permission, Resource
from kestra_iam.rbac.engine import Check, check_access, subject_namespaces, subject_permissions
from kestra_iam.rbac.policy import SubjectRef

pytestmark = pytest.mark.django_db

TENANTS = ("t1", "t2")
NAMESPACES = ("", "a", "a.b", "a.b.c", "a.bc", "ab", "b", "b.a")
RESOURCES = (Resource.FLOWS, Resource.SECRETS, Resource.USERS, Resource.AUDITLOGS)
ACTIONS = (Action.READ, Action.UPDATE)
PERMISSIONS = [Permission(r, a) for r in RESOURCES for a in ACTIONS]
USERS = 5
GROUPS = 3
ROLES = 3

world = st.fixed_dictionaries(
    {
        # per tenant and user: no access, active, disabled, or never set (None)
        "access": st.lists(
            st.sampled_from(["none", True, False, None]),
            min_size=len(TENANTS) * USERS,
            max_size=len(TENANTS) * USERS,
        ),
        "roles": st.lists(
            st.frozensets(st.sampled_from(PERMISSIONS), max_size=4),
            min_size=len(TENANTS) * ROLES,
            max_size=len(TENANTS) * ROLES,
        ),
        # (tenant, group, user): membership wherever the user has access there
        "members": st.sets(
            st.tuples(
                st.integers(0, len(TENANTS) - 1),
                st.integers(0, GROUPS - 1),
                st.integers(0, USERS - 1),
            ),
            max_size=12,
        ),
        # (tenant, role, subject kind, subject index, namespace)
        "bindings": st.sets(
            st.tuples(
                st.integers(0, len(TENANTS) - 1),
                st.integers(0, ROLES - 1),
                st.sampled_from(["user", "group"]),
                st.integers(0, max(USERS, GROUPS) - 1),
                st.sampled_from(NAMESPACES),
            ),
            max_size=14,
        ),
        "default_role": st.lists(
            st.one_of(st.none(), st.integers(0, ROLES - 1)),
            min_size=len(TENANTS),
            max_size=len(TENANTS),
        ),
    }
)


def build(data):
    tenants = [Tenant.objects.create(id=t, name=t) for t in TENANTS]
    users = [User.objects.create(user_name=f"u{i}@example.com") for i in range(USERS)]
    accesses = {}
    for (ti, ui), state in zip(
        itertools.product(range(len(TENANTS)), range(USERS)), data["access"], strict=True
    ):
        if state != "none":
            accesses[ti, ui] = TenantAccess.objects.create(
                tenant=tenants[ti], user=users[ui], active=state
            )
    groups = {
        (ti, gi): Group.objects.create(tenant=tenants[ti], display_name=f"g{gi}")
        for ti in range(len(TENANTS))
        for gi in range(GROUPS)
    }
    roles = {}
    for (ti, ri), perms in zip(
        itertools.product(range(len(TENANTS)), range(ROLES)), data["roles"], strict=True
    ):
        stored = {}
        for p in sorted(perms):
            stored.setdefault(p.resource.value, []).append(p.action.value)
        roles[ti, ri] = Role.objects.create(tenant=tenants[ti], name=f"r{ri}", permissions=stored)
    for ti, gi, ui in data["members"]:
        if (ti, ui) in accesses:
            GroupMembership.objects.create(group=groups[ti, gi], access=accesses[ti, ui])
    for ti, ri, kind, index, namespace in data["bindings"]:
        if kind == "user":
            if index >= USERS or (ti, index) not in accesses:
                continue
            subject = {"user": users[index]}
        else:
            if index >= GROUPS:
                continue
            subject = {"group": groups[ti, index]}
        Binding.objects.create(
            tenant=tenants[ti], role=roles[ti, ri], namespace=namespace, **subject
        )
    for tenant, role_index in zip(tenants, data["default_role"], strict=True):
        if role_index is not None:
            Tenant.objects.filter(pk=tenant.pk).update(
                default_role=roles[TENANTS.index(tenant.pk), role_index]
            )
    return tenants, users


def reference_scopes(tenant_id: str, user: User) -> list[tuple[dict, str]]:
    """Brute force: every binding in the database that reaches the user, and the default
    role, as (stored permissions, namespace); nothing without active access."""
    access = TenantAccess.objects.filter(tenant_id=tenant_id, user=user).first()
    if access is None or access.active is False:
        return []
    my_groups = set(
        GroupMembership.objects.filter(access=access, group__tenant_id=tenant_id).values_list(
            "group_id", flat=True
        )
    )
    scopes = []
    for binding in Binding.objects.filter(tenant_id=tenant_id).select_related("role"):
        if binding.user_id == user.pk or binding.group_id in my_groups:
            scopes.append((binding.role.permissions, binding.namespace))
    tenant = Tenant.objects.select_related("default_role").get(pk=tenant_id)
    if tenant.default_role is not None:
        scopes.append((tenant.default_role.permissions, ""))
    return scopes


def reference(scopes: list[tuple[dict, str]], permission: Permission, namespace: str) -> bool:
    """The rules as written, over those scopes."""
    namespaced = permission.resource in (Resource.FLOWS, Resource.SECRETS)
    for stored, scope in scopes:
        if permission.action.value not in stored.get(permission.resource.value, []):
            continue
        if scope == "":
            return True
        if not namespaced or namespace == "":
            continue
        asked, bound = namespace.split("."), scope.split(".")
        if asked[: len(bound)] == bound:
            return True
    return False


def askable(permission: Permission) -> list[str]:
    return list(NAMESPACES) if permission.resource in (Resource.FLOWS, Resource.SECRETS) else [""]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=world)
def test_the_engine_agrees_with_brute_force(data):
    with transaction.atomic():
        tenants, users = build(data)
        for tenant in tenants:
            checks = [
                Check(SubjectRef("user_id", str(user.pk)), permission, namespace)
                for user in users
                for permission in PERMISSIONS
                for namespace in askable(permission)
            ]
            decisions = check_access(tenant=tenant, checks=checks)
            for user in users:
                scopes = reference_scopes(tenant.pk, user)
                ref = SubjectRef("user_name", user.user_name)
                held = subject_permissions(tenant=tenant, subject=ref).permissions
                for permission in PERMISSIONS:
                    where = subject_namespaces(tenant=tenant, subject=ref, permission=permission)
                    for namespace in askable(permission):
                        expected = reference(scopes, permission, namespace)
                        decision = next(
                            d
                            for d in decisions
                            if d.subject
                            and d.subject.pk == user.pk
                            and d.check.permission == permission
                            and d.check.namespace == namespace
                        )
                        context = (tenant.pk, user.user_name, str(permission), namespace)
                        assert decision.allowed == expected, context
                        # The other two questions tell the same story.
                        listed = any(
                            e.permission == permission
                            and (e.namespace == "" or _under(namespace, e.namespace))
                            for e in held
                        )
                        assert listed == expected, context
                        covered = where.holding.tenant_wide or any(
                            _under(namespace, root) for root in where.holding.namespaces
                        )
                        assert covered == expected, context
            # A batch where each user asks about one namespace only, another than its
            # neighbours: the grants read for one subject must never be cut to the scopes
            # another subject asked about.
            staggered = [
                Check(SubjectRef("user_id", str(user.pk)), permission, where[index % len(where)])
                for index, user in enumerate(users)
                for permission in PERMISSIONS
                for where in [askable(permission)]
            ]
            for decision in check_access(tenant=tenant, checks=staggered):
                user = next(u for u in users if str(u.pk) == decision.check.subject.value)
                expected = reference(
                    reference_scopes(tenant.pk, user), decision.check.permission,
                    decision.check.namespace,
                )  # fmt: skip
                assert decision.allowed == expected, (tenant.pk, user.user_name, decision.check)
        transaction.set_rollback(True)


def _under(namespace: str, root: str) -> bool:
    return namespace != "" and namespace.split(".")[: len(root.split("."))] == root.split(".")
