"""`manage.py access|role|binding|service_account|tenant default-role`: the interface scripts
depend on — exact shapes, `--json`, exit statuses (access check: 0 allowed, 1 denied, 2 bad
input, like `kubectl auth can-i`) and an audit event for every write."""

import subprocess
import sys

import pytest
from django.core.management import CommandError

from kestra_iam.models import AuditEvent, Binding, Role, ServiceAccount
from kestra_iam.services import api_token_authenticate
from tests.commands import run, run_json
from tests.factories import GroupFactory, GroupMembershipFactory, TenantAccessFactory, UserFactory
from tests.processes import ROOT, manage, server_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(tenant):
    access = TenantAccessFactory(tenant=tenant, user=UserFactory(user_name="alice@example.com"))
    GroupMembershipFactory(
        group=GroupFactory(tenant=tenant, display_name="Data Engineers"), access=access
    )
    return access.user


def test_an_operator_sets_up_a_role_and_binds_a_group(tenant, alice):
    created = run_json(
        "role", "create", "--tenant", "main", "--name", "FlowEditor",
        "--permission", "FLOWS:UPDATE", "--permission", "flow:read", "--description", "edits",
    )  # fmt: skip
    assert created["permissions"] == ["FLOWS:READ", "FLOWS:UPDATE"]
    binding = run_json(
        "binding", "create", "--tenant", "main", "--role", "FlowEditor",
        "--group", "data engineers", "--namespace", "company.data",
    )  # fmt: skip
    assert binding["subject"] == {
        "type": "group",
        "id": str(Binding.objects.get().group_id),
        "name": "Data Engineers",
    }
    assert binding["namespace"] == "company.data"
    assert "role FlowEditor → group Data Engineers, on namespace company.data" in run(
        "binding", "list", "--tenant", "main"
    )
    assert [
        b["id"]
        for b in run_json("binding", "list", "--tenant", "main", "--group", "Data Engineers")
    ] == [binding["id"]]
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_type"))
    assert actions == [("command.role.create", "command"), ("command.binding.create", "command")]


def test_access_check_exits_like_kubectl_auth_can_i(tenant, alice):
    role = Role.objects.create(tenant=tenant, name="FlowEditor", permissions={"FLOWS": ["UPDATE"]})
    Binding.objects.create(
        tenant=tenant, role=role, group=tenant.groups.get(), namespace="company.data"
    )
    base = ["access", "check", "--tenant", "main", "--user", "ALICE@example.com", "--permission"]
    out = run(*base, "FLOWS:UPDATE", "--namespace", "company.data.etl")
    assert out.strip() == (
        "allowed: FLOWS:UPDATE in namespace company.data.etl — role FlowEditor on namespace "
        "company.data, through group Data Engineers"
    )
    decision = run_json(*base, "FLOWS:UPDATE", "--namespace", "company.data")
    assert (
        decision["allowed"] and decision["reasons"][0]["group"]["displayName"] == "Data Engineers"
    )
    with pytest.raises(SystemExit) as denied:
        run(*base, "FLOWS:UPDATE", "--namespace", "company.database")
    assert denied.value.code == 1
    for bad, message in [
        (["FLOWS"], "--permission: A permission is written RESOURCE:ACTION"),
        (["USERS:READ", "--namespace", "a"], "--namespace: USERS belongs to the tenant"),
        (["FLOWS:READ", "--namespace", "A B"], "--namespace: 'A B' is not a namespace"),
    ]:
        with pytest.raises(CommandError, match=message) as refused:
            run(*base, *bad)
        assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="There is no user 'zoe'") as unknown:
        run("access", "check", "--tenant", "main", "--user", "zoe", "--permission", "FLOWS:READ")
    assert unknown.value.returncode == 2
    with pytest.raises(CommandError, match="There is no tenant 'nope'") as no_tenant:
        run("access", "check", "--tenant", "nope", "--user", "zoe", "--permission", "FLOWS:READ")
    assert no_tenant.value.returncode == 2


def test_access_check_exit_statuses_from_the_shell(tmp_path):
    """The statuses a script sees, from real `manage.py` processes on a database of their own."""
    env = server_env(tmp_path)
    for args in (
        ["migrate", "--noinput", "-v0"],
        ["tenant", "create", "main"],
        ["service_account", "create", "--tenant", "main", "--name", "robot"],
        ["binding", "create", "--tenant", "main", "--role", "Viewer",
         "--service-account", "robot", "--namespace", "company"],
    ):  # fmt: skip
        manage(env, *args)

    def status(permission: str, *more: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "access", "check", "--tenant", "main",
             "--service-account", "robot", "--permission", permission, *more],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    allowed = status("FLOWS:READ", "--namespace", "company.sales")
    denied = status("FLOWS:UPDATE", "--namespace", "company.sales")
    bad = status("WORKERS:READ")
    assert (allowed.returncode, denied.returncode, bad.returncode) == (0, 1, 2)
    assert allowed.stdout.startswith("allowed:") and denied.stdout.startswith("denied:")
    assert denied.stderr == "" and "Unknown resource 'WORKERS'" in bad.stderr


def test_access_list_says_where_each_permission_comes_from(tenant, alice):
    role = Role.objects.create(tenant=tenant, name="FlowEditor", permissions={"FLOWS": ["UPDATE"]})
    Binding.objects.create(
        tenant=tenant, role=role, group=tenant.groups.get(), namespace="company.data"
    )
    run("tenant", "default-role", "main", "Viewer")
    out = run("access", "list", "--tenant", "main", "--user", "alice@example.com")
    assert "(tenant-wide)            FLOWS:READ" in out and "the tenant's default role" in out
    assert "company.data             FLOWS:UPDATE" in out and "through group Data Engineers" in out
    listed = run_json("access", "list", "--tenant", "main", "--user", "alice@example.com")
    held = {(p["namespace"], p["permission"]) for p in listed["permissions"]}
    assert {(None, "FLOWS:READ"), ("company.data", "FLOWS:UPDATE")} <= held
    tenant.accesses.update(active=False)
    assert "holds nothing in main: the user's access to this tenant is disabled" in run(
        "access", "list", "--tenant", "main", "--user", "alice@example.com"
    )


def test_the_default_role(tenant):
    assert "has no default role" in run("tenant", "default-role", "main")
    assert run_json("tenant", "default-role", "main", "Viewer")["default_role"] == "Viewer"
    assert "every active member holds role 'Viewer'" in run("tenant", "default-role", "main")
    assert [r["name"] for r in run_json("role", "list", "--tenant", "main") if r["default"]] == [
        "Viewer"
    ]
    assert run_json("tenant", "default-role", "main", "--clear")["default_role"] is None
    with pytest.raises(CommandError, match="no role named 'Nope'"):
        run("tenant", "default-role", "main", "Nope")
    assert (
        list(AuditEvent.objects.values_list("action", flat=True))
        == ["command.tenant.default_role"] * 2
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["role", "create", "--tenant", "main", "--name", "Admin", "--permission", "FLOWS:READ"],
            "already has a role named 'Admin'",
        ),
        (
            ["role", "create", "--tenant", "main", "--name", " ", "--permission", "FLOWS:READ"],
            "A role needs a name.",
        ),
        (
            ["role", "create", "--tenant", "main", "--name", "X", "--permission", "PEOPLE:READ"],
            "--permission: Unknown resource 'PEOPLE'",
        ),
        (["role", "create", "--tenant", "nope", "--name", "X"], "There is no tenant 'nope'"),
        (["role", "delete", "--tenant", "main", "--name", "Nope"], "no role named 'Nope'"),
        (
            ["binding", "create", "--tenant", "main", "--role", "Viewer", "--user", "nobody"],
            "There is no user 'nobody'",
        ),
        (
            [
                "binding",
                "create",
                "--tenant",
                "main",
                "--role",
                "Viewer",
                "--user",
                "bob@example.com",
            ],
            "has no access to tenant 'main'",
        ),
        (
            ["binding", "create", "--tenant", "main", "--role", "Viewer", "--group", "Nope"],
            "no group 'Nope'",
        ),
        (
            ["binding", "create", "--tenant", "main", "--role", "Viewer", "--service-account", "x"],
            "no service account 'x'",
        ),
        (
            [
                "binding",
                "create",
                "--tenant",
                "main",
                "--role",
                "Viewer",
                "--group",
                "Data Engineers",
                "--namespace",
                "a..b",
            ],
            "'a..b' is not a namespace",
        ),
        (["binding", "delete", "--tenant", "main", "999"], "has no binding 999"),
        (
            ["service_account", "create", "--tenant", "main", "--name", "Not Valid"],
            "--name: a service account name is 1 to 63",
        ),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(tenant, alice, args, message):
    UserFactory(user_name="bob@example.com")  # exists, with no access to main
    roles, bindings = Role.objects.count(), Binding.objects.count()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert (Role.objects.count(), Binding.objects.count()) == (roles, bindings)
    assert not AuditEvent.objects.exists()


def test_a_duplicate_binding_is_refused(tenant, alice):
    args = [
        "binding",
        "create",
        "--tenant",
        "main",
        "--role",
        "Viewer",
        "--user",
        "alice@example.com",
    ]
    run(*args)
    with pytest.raises(
        CommandError, match=r"The user alice@example\.com already holds role 'Viewer' tenant-wide"
    ):
        run(*args)
    run(*args, "--namespace", "company")  # another namespace is another binding
    assert Binding.objects.count() == 2


def test_deleting_a_role_takes_its_bindings_and_the_default(tenant, alice):
    run("tenant", "default-role", "main", "Viewer")
    run("binding", "create", "--tenant", "main", "--role", "Viewer", "--group", "Data Engineers")
    deleted = run_json("role", "delete", "--tenant", "main", "--name", "Viewer")
    assert deleted["deleted"] and deleted["bindings"] == 1
    tenant.refresh_from_db()
    assert tenant.default_role is None and not Binding.objects.exists()


def test_a_service_account_for_the_platform(tenant):
    created = run_json("service_account", "create", "--tenant", "main", "--name", "kestra-platform")
    assert created["name"] == "kestra-platform"
    issued = run_json(
        "service_account", "issue-token", "--tenant", "main", "--name", "kestra-platform"
    )
    assert api_token_authenticate(issued["token"]).service_account.name == "kestra-platform"
    assert "kestra-platform\t1 live token(s)" in run("service_account", "list", "--tenant", "main")
    with pytest.raises(CommandError, match="already has a service account 'kestra-platform'"):
        run("service_account", "create", "--tenant", "main", "--name", "kestra-platform")
    run("service_account", "delete", "--tenant", "main", "--name", "kestra-platform")
    assert not ServiceAccount.objects.exists()


def test_an_integrations_account_is_deleted_with_the_integration(tenant, scim):
    name = scim.integration.service_account.name
    with pytest.raises(CommandError, match="delete that first"):
        run("service_account", "delete", "--tenant", "main", "--name", name)
