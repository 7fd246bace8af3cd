"""What a binding grants, one row per rule (Kestra EE's RBAC): groups, namespace inheritance and
what it never reaches, active and removed access, the default role, service accounts, and
other tenants' bindings — each row a check and the answer it must get, with why."""

import pytest

from kestra_iam.models import Binding, Role, TenantAccess
from kestra_iam.permissions import Permission
from kestra_iam.rbac.engine import Check, Denial, check_access
from kestra_iam.rbac.grants import Source
from kestra_iam.rbac.policy import SubjectRef
from kestra_iam.rbac.services import tenant_set_default_role
from tests.factories import (
    GroupFactory,
    GroupMembershipFactory,
    ServiceAccountFactory,
    TenantAccessFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Tenant `main`: alice in group Data Engineers (FlowEditor on company.data), bob with a
    direct Auditor binding, carol in the group but disabled, dave provisioned only into
    `other` (where he is an Admin), erin with access and nothing else, frank removed from
    `main` after being bound; service account robot (Launcher on company); the tenant's
    default role Viewer (added by some rows)."""
    main, other = TenantFactory(id="main"), TenantFactory(id="other")
    flow_editor = Role.objects.create(
        tenant=main, name="FlowEditor", permissions={"FLOWS": ["READ", "UPDATE"], "USERS": ["READ"]}
    )
    auditor = Role.objects.create(
        tenant=main, name="Auditor", permissions={"AUDITLOGS": ["READ"], "FLOWS": ["READ"]}
    )
    engineers = GroupFactory(tenant=main, display_name="Data Engineers")
    Binding.objects.create(tenant=main, role=flow_editor, group=engineers, namespace="company.data")
    people = {}
    for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
        people[name] = UserFactory(user_name=f"{name}@example.com")
    for name in ("alice", "bob", "carol", "erin", "frank"):
        access = TenantAccessFactory(tenant=main, user=people[name])
        if name in ("alice", "carol"):
            GroupMembershipFactory(group=engineers, access=access)
    TenantAccess.objects.filter(tenant=main, user=people["carol"]).update(active=False)
    Binding.objects.create(tenant=main, role=auditor, user=people["bob"])
    Binding.objects.create(tenant=main, role=auditor, user=people["frank"])
    TenantAccess.objects.filter(tenant=main, user=people["frank"]).delete()  # SCIM DELETE
    TenantAccessFactory(tenant=other, user=people["dave"])
    Binding.objects.create(
        tenant=other, role=Role.objects.get(tenant=other, name="Admin"), user=people["dave"]
    )
    robot = ServiceAccountFactory(tenant=main, name="robot")
    Binding.objects.create(
        tenant=main, role=Role.objects.get(tenant=main, name="Launcher"), service_account=robot,
        namespace="company",
    )  # fmt: skip
    return main


def user(name):
    return SubjectRef("user_name", f"{name}@example.com")


ROBOT = SubjectRef("service_account", "robot")

# subject, permission, namespace, with the default role?, expected: a Source or a Denial
ROWS = [
    # a group's binding, and namespace inheritance
    (user("alice"), "FLOWS:UPDATE", "company.data", False, Source.GROUP),
    (user("alice"), "FLOWS:UPDATE", "company.data.etl", False, Source.GROUP),
    (user("alice"), "FLOWS:UPDATE", "company.data.etl.daily.x", False, Source.GROUP),
    (user("alice"), "FLOWS:UPDATE", "company.database", False, Denial.NOT_GRANTED),
    (user("alice"), "FLOWS:UPDATE", "company", False, Denial.NOT_GRANTED),
    (user("alice"), "FLOWS:UPDATE", "", False, Denial.NOT_GRANTED),
    (user("alice"), "FLOWS:DELETE", "company.data", False, Denial.NOT_GRANTED),
    # a namespaced binding never grants a tenant-level resource
    (user("alice"), "USERS:READ", "", False, Denial.NOT_GRANTED),
    # a direct, tenant-wide binding covers every namespace and the tenant's own resources
    (user("bob"), "FLOWS:READ", "anything.at.all", False, Source.DIRECT),
    (user("bob"), "FLOWS:READ", "", False, Source.DIRECT),
    (user("bob"), "AUDITLOGS:READ", "", False, Source.DIRECT),
    (user("bob"), "FLOWS:UPDATE", "company.data", False, Denial.NOT_GRANTED),
    # disabled access: nothing, whatever the group says
    (user("carol"), "FLOWS:UPDATE", "company.data", False, Denial.ACCESS_DISABLED),
    (user("carol"), "FLOWS:READ", "x", True, Denial.ACCESS_DISABLED),
    # another tenant's bindings never count
    (user("dave"), "FLOWS:READ", "", False, Denial.NO_ACCESS),
    (user("dave"), "USERS:READ", "", True, Denial.NO_ACCESS),
    # removed from the tenant (SCIM DELETE): its bindings went with the access
    (user("frank"), "AUDITLOGS:READ", "", False, Denial.NO_ACCESS),
    # the default role: held by every active member, tenant-wide, without a binding
    (user("erin"), "FLOWS:READ", "company.data", False, Denial.NOT_GRANTED),
    (user("erin"), "FLOWS:READ", "company.data", True, Source.DEFAULT_ROLE),
    (user("erin"), "FLOWS:READ", "", True, Source.DEFAULT_ROLE),
    (user("erin"), "FLOWS:UPDATE", "company.data", True, Denial.NOT_GRANTED),
    (user("erin"), "SECRETS:READ", "company", True, Denial.NOT_GRANTED),  # Viewer reads no secret
    # a service account: its own bindings, never the default role
    (ROBOT, "EXECUTIONS:CREATE", "company.sales", False, Source.DIRECT),
    (ROBOT, "EXECUTIONS:CREATE", "companyx", False, Denial.NOT_GRANTED),
    (ROBOT, "FLOWS:UPDATE", "company", False, Denial.NOT_GRANTED),
    (ROBOT, "DASHBOARDS:READ", "", True, Denial.NOT_GRANTED),
    # nobody by that name
    (user("zoe"), "FLOWS:READ", "", False, Denial.UNKNOWN_SUBJECT),
    (SubjectRef("user_id", "not-a-uuid"), "FLOWS:READ", "", False, Denial.UNKNOWN_SUBJECT),
    (SubjectRef("service_account", "nobody"), "FLOWS:READ", "", False, Denial.UNKNOWN_SUBJECT),
]


@pytest.mark.parametrize(
    "subject, permission, namespace, default_role, expected",
    ROWS,
    ids=[f"{r[0].value}-{r[1]}-{r[2] or 'tenant'}{'-default' if r[3] else ''}" for r in ROWS],
)
def test_decision(world, subject, permission, namespace, default_role, expected):
    if default_role:
        tenant_set_default_role(tenant=world, role=Role.objects.get(tenant=world, name="Viewer"))
    (decision,) = check_access(
        tenant=world, checks=[Check(subject, Permission.parse(permission), namespace)]
    )
    if isinstance(expected, Denial):
        assert (decision.allowed, decision.denial, decision.reasons) == (False, expected, ())
    else:
        assert decision.allowed and decision.denial is None
        assert {grant.source for grant in decision.reasons} == {expected}


def test_a_batch_is_answered_in_order_in_two_queries(world, django_assert_num_queries):
    checks = [Check(s, Permission.parse(p), ns) for s, p, ns, default, _ in ROWS if not default]
    with django_assert_num_queries(3):  # users, service accounts, every grant of the batch
        decisions = check_access(tenant=world, checks=checks)
    assert [d.check for d in decisions] == checks
    expected = [e for *_, default, e in ROWS if not default]
    assert [d.denial if d.denial else d.reasons[0].source for d in decisions] == expected


def test_the_why_names_the_group_the_role_and_the_binding(world):
    (decision,) = check_access(
        tenant=world,
        checks=[Check(user("alice"), Permission.parse("FLOWS:UPDATE"), "company.data.etl")],
    )
    (grant,) = decision.reasons
    binding = Binding.objects.get(group__display_name="Data Engineers")
    assert (grant.group_name, grant.role_name, grant.namespace, grant.binding_id) == (
        "Data Engineers",
        "FlowEditor",
        "company.data",
        binding.pk,
    )
    assert decision.explain() == (
        "allowed: FLOWS:UPDATE in namespace company.data.etl — role FlowEditor on namespace "
        "company.data, through group Data Engineers"
    )


def test_every_path_that_grants_it_is_a_reason(world):
    bob = TenantAccess.objects.get(tenant=world, user__user_name="bob@example.com")
    GroupMembershipFactory(group=world.groups.get(), access=bob)
    tenant_set_default_role(tenant=world, role=Role.objects.get(tenant=world, name="Viewer"))
    (decision,) = check_access(
        tenant=world, checks=[Check(user("bob"), Permission.parse("FLOWS:READ"), "company.data")]
    )
    assert sorted(g.source for g in decision.reasons) == ["default_role", "direct", "group"]


def test_a_role_of_another_tenant_bound_around_validation_grants_nothing(world):
    """The database lets a raw insert bind another tenant's role; the engine reads only roles
    of the tenant asked about."""
    foreign = Role.objects.get(tenant_id="other", name="Admin")
    erin = TenantAccess.objects.get(tenant=world, user__user_name="erin@example.com").user
    Binding.objects.create(tenant=world, role=foreign, user=erin)
    (decision,) = check_access(
        tenant=world, checks=[Check(user("erin"), Permission.parse("USERS:READ"))]
    )
    assert decision.denial is Denial.NOT_GRANTED


def test_an_access_that_was_never_set_active_counts_as_active(world):
    TenantAccess.objects.filter(tenant=world, user__user_name="bob@example.com").update(active=None)
    (decision,) = check_access(
        tenant=world, checks=[Check(user("bob"), Permission.parse("AUDITLOGS:READ"))]
    )
    assert decision.allowed


@pytest.mark.parametrize(
    "permission, namespace, message",
    [
        ("USERS:READ", "company", "belongs to the tenant as a whole"),
        ("FLOWS:READ", "Company", "is not a namespace"),
        ("FLOWS:READ", "a..b", "is not a namespace"),
        ("FLOWS:READ", "a.", "is not a namespace"),
        ("FLOWS:READ", ".a", "is not a namespace"),
        ("FLOWS:READ", "a" * 151, "at most 150"),
    ],
)
def test_a_question_that_makes_no_sense_is_refused_in_words(permission, namespace, message):
    with pytest.raises(Exception, match=message):
        Check(user("alice"), Permission.parse(permission), namespace)


@pytest.mark.parametrize(
    "text, message",
    [
        ("FLOWS", "RESOURCE:ACTION"),
        ("FLOWS:READ:X", "RESOURCE:ACTION"),
        ("WORKERS:READ", "Unknown resource 'WORKERS'"),
        ("FLOWS:EXECUTE", "Unknown action 'EXECUTE'"),
        (42, "RESOURCE:ACTION"),
    ],
)
def test_a_permission_is_resource_colon_action(text, message):
    with pytest.raises(Exception, match=message):
        Permission.parse(text)


def test_kestras_own_names_are_understood():
    assert str(Permission.parse("flow:update")) == "FLOWS:UPDATE"
    assert str(Permission.parse("SERVICE_ACCOUNT:read")) == "SERVICE_ACCOUNTS:READ"
    assert str(Permission.parse(" kvstore : Delete ")) == "KVSTORE:DELETE"
