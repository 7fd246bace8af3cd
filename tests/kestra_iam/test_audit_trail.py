"""The audit trail: one event per write (SCIM, admin, command), never a secret, never in the way."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.timezone import now

from kestra_iam.models import AuditEvent, Group, GroupMembership, Role, Tenant, TenantAccess, User
from provisioning.services import integration_create

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_every_scim_write_records_one_event(scim):
    user = scim.create_user("audited@example.com", password="s3cret-Passw0rd")
    scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "x"})
    scim.put(f"/Users/{user['id']}", {"userName": "audited@example.com"})
    group = scim.create_group("Audited")
    scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
    )
    scim.delete(f"/Groups/{group['id']}")
    scim.delete(f"/Users/{user['id']}")
    recorded = [(e.action, e.outcome, e.resource_id) for e in events()]
    assert recorded == [
        ("scim.users.create", 201, user["id"]),
        ("scim.users.update", 200, user["id"]),
        ("scim.users.replace", 200, user["id"]),
        ("scim.groups.create", 201, group["id"]),
        ("scim.groups.update", 204, group["id"]),
        ("scim.groups.delete", 204, group["id"]),
        ("scim.users.delete", 204, user["id"]),
    ]
    first = events()[0]
    assert first.tenant_id == "main" and first.integration_id == scim.integration.pk
    assert (
        first.actor_type == "service_account"
        and first.actor == scim.integration.service_account.name
    )
    assert len(first.request_id) == 32


def test_refused_writes_are_recorded_with_their_outcome(scim):
    scim.create_user("dup@example.com")
    scim.post("/Users", {"userName": "DUP@example.com"})
    scim.patch_ops(
        "/Users/00000000-0000-0000-0000-000000000000",
        {"op": "replace", "path": "title", "value": "x"},
    )
    refused = [(e.action, e.outcome) for e in events()][1:]
    assert refused == [("scim.users.create", 409), ("scim.users.update", 404)]
    assert "already exists" in events()[1].detail


def test_reads_searches_and_anonymous_requests_are_not_recorded(scim):
    scim.get("/Users")
    scim.post("/Users/.search", {"filter": "userName pr"})
    scim.client.credentials()
    scim.client.post(scim.url("/Users"), {"userName": "x"}, format="json")
    assert events() == []


def test_the_request_id_is_returned_and_can_come_from_a_proxy(scim):
    response = scim.post(
        "/Users", {"userName": "rid@example.com"}, HTTP_X_REQUEST_ID="proxy-req-42"
    )
    assert response["X-Request-ID"] == "proxy-req-42"
    assert events()[0].request_id == "proxy-req-42"
    for odd_id in ("bad id with spaces", "x" * 65, "line\nbreak", "<script>"):
        odd = scim.get("/Users", HTTP_X_REQUEST_ID=odd_id)
        assert odd["X-Request-ID"] != odd_id and len(odd["X-Request-ID"]) == 32
    longest = "r" * 64
    scim.post("/Users", {"userName": "rid2@example.com"}, HTTP_X_REQUEST_ID=longest)
    assert events()[-1].request_id == longest


def test_no_secret_ever_reaches_the_trail(scim):
    user = scim.create_user("secret@example.com", password="Top-Secret-Pw-123")
    scim.patch_ops(
        f"/Users/{user['id']}",
        {"op": "replace", "path": "password", "value": "Other-Secret-Pw-456"},
    )
    text = json.dumps([list(e.__dict__.values()) for e in events()], default=str)
    for secret in ("Top-Secret-Pw-123", "Other-Secret-Pw-456", scim.token, scim.token[21:]):
        assert secret not in text


def test_auditing_costs_one_query_inside_the_write_transaction(scim, monkeypatch):
    import kestra_iam.audit as audit

    seen = []
    original = audit.EVENT_INSERT.insert

    def spy(event, **kwargs):
        seen.append(len(connection.atomic_blocks))  # how deeply nested in transactions
        return original(event, **kwargs)

    monkeypatch.setattr(audit.EVENT_INSERT, "insert", spy)
    group = scim.create_group("Locks")
    outside = len(connection.atomic_blocks)  # the test's own transaction
    with CaptureQueriesContext(connection) as context:
        scim.patch_ops(
            f"/Groups/{group['id']}", {"op": "replace", "path": "displayName", "value": "Locks 2"}
        )
    inserts = [q for q in context.captured_queries if "kestra_iam_auditevent" in q["sql"]]
    assert len(inserts) == 1
    # Written in the service's transaction, one level inside the test's.
    assert seen == [outside + 1, outside + 1]


def break_the_audit_trail() -> None:
    """From now on the database refuses every audit event, as a full disk or a lost table
    would. DDL inside the test's transaction: it is rolled back with the test."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON kestra_iam_auditevent "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON kestra_iam_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'audit storage unavailable'); END"
            )


def test_a_scim_write_whose_event_cannot_be_stored_is_not_made(scim):
    user = scim.create_user("kept@example.com", title="Before")
    group = scim.create_group("Kept")
    version = Group.objects.get().version
    break_the_audit_trail()
    added = scim.patch_ops(
        f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
    )
    assert added.status_code == 503 and "not made" in added.json()["detail"]
    assert not GroupMembership.objects.exists() and Group.objects.get().version == version
    created = scim.post("/Users", {"userName": "lost@example.com"})
    assert created.status_code == 503 and created["Retry-After"]
    assert "not made" in created.json()["detail"]
    patched = scim.patch_ops(
        f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "After"}
    )
    assert patched.status_code == 503
    assert scim.post("/Groups", {"displayName": "Lost"}).status_code == 503
    assert scim.delete(f"/Users/{user['id']}").status_code == 503
    # Neither the changes nor their events exist.
    assert not User.objects.filter(user_name="lost@example.com").exists()
    assert TenantAccess.objects.get(user_id=user["id"]).title == "Before"
    assert TenantAccess.objects.filter(user_id=user["id"]).exists()
    assert list(Group.objects.values_list("display_name", flat=True)) == ["Kept"]
    # The ones before the fault.
    assert [e.action for e in events()] == ["scim.users.create", "scim.groups.create"]


def test_an_admin_change_whose_event_cannot_be_stored_is_not_made(admin_client, tenant):
    break_the_audit_trail()
    response = admin_client.post(
        reverse("admin:kestra_iam_tenant_add"), {"id": "lost", "name": "Lost"}, follow=True
    )
    assert "Nothing was saved" in response.content.decode()
    assert not Tenant.objects.filter(pk="lost").exists()
    role = Role.objects.create(tenant=tenant, name="Kept")
    response = admin_client.post(
        reverse("admin:kestra_iam_role_delete", args=[role.pk]), {"post": "yes"}, follow=True
    )
    assert "Nothing was saved" in response.content.decode()
    assert Role.objects.filter(pk=role.pk).exists()
    assert not AuditEvent.objects.exists()


def test_a_command_whose_event_cannot_be_stored_changes_nothing_and_prints_no_token(tenant):
    break_the_audit_trail()
    out = StringIO()
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("integration", "create", "--tenant", "main", "--name", "Cli", stdout=out)
    assert out.getvalue() == ""  # no Secret Token for an integration that does not exist
    assert not tenant.integrations.exists()
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("tenant", "create", "lost", stdout=StringIO())
    assert not Tenant.objects.filter(pk="lost").exists()


def test_admin_changes_to_integrations_roles_bindings_and_tokens(admin_client, tenant):
    admin_client.post(
        reverse("admin:provisioning_provisioningintegration_add"),
        {
            "name": "Entra",
            "description": "",
            "provisioning_type": "SCIM_2_0",
            "tenant": "main",
            "enabled": "on",
        },
    )
    integration = tenant.integrations.get()
    admin_client.post(
        reverse("admin:provisioning_provisioningintegration_toggle", args=[integration.pk])
    )
    admin_client.post(
        reverse("admin:provisioning_provisioningintegration_rotate_token", args=[integration.pk]),
        {"overlap_hours": "0"},
    )
    admin_client.post(
        reverse("admin:provisioning_provisioningintegration_revoke_tokens", args=[integration.pk])
    )
    role = Role.objects.get(name="SCIMProvisioner")
    admin_client.post(
        reverse("admin:kestra_iam_role_change", args=[role.pk]),
        {"name": role.name, "description": "", "grants": ["USERS:READ"]},
    )
    binding = role.bindings.get()
    admin_client.post(
        reverse("admin:kestra_iam_binding_delete", args=[binding.pk]), {"post": "yes"}
    )
    admin_client.post(
        reverse("admin:provisioning_provisioningintegration_delete", args=[integration.pk]),
        {"post": "yes"},
    )
    recorded = [(e.action, e.actor, e.tenant_id) for e in events(actor_type="admin")]
    assert [a for a, _, _ in recorded] == [
        "admin.provisioningintegration.add",
        "admin.provisioningintegration.disable",
        "admin.provisioningintegration.rotate_token",
        "admin.provisioningintegration.revoke_tokens",
        "admin.role.change",
        "admin.binding.delete",
        "admin.provisioningintegration.delete",
    ]
    assert {actor for _, actor, _ in recorded} == {"admin"} and {t for _, _, t in recorded} == {
        "main"
    }
    assert events(action="admin.provisioningintegration.disable")[0].detail == "enabled: false"
    assert events(action="admin.provisioningintegration.rotate_token")[0].detail == (
        "Rotated the Secret Token."
    )
    assert events(action="admin.provisioningintegration.revoke_tokens")[0].detail == (
        "Revoked 1 Secret Token(s)."
    )
    assert all(
        e.integration_id == integration.pk for e in events(resource_type="provisioningintegration")
    )


def test_admin_changes_to_tenants_users_and_groups_are_recorded(admin_client, tenant):
    admin_client.post(reverse("admin:kestra_iam_tenant_add"), {"id": "acme", "name": "Acme"})
    person = User.objects.create_user("person@example.com")
    change = reverse("admin:kestra_iam_user_change", args=[person.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {
        **{k: v for k, v in form.initial.items() if v is not None and k != "user_permissions"},
        "is_staff": "on",
        "accesses-TOTAL_FORMS": "0",
        "accesses-INITIAL_FORMS": "0",
        "values-TOTAL_FORMS": "0",
        "values-INITIAL_FORMS": "0",
    }
    data.pop("password", None)
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    group = Group.objects.create(tenant=tenant, display_name="Team")
    admin_client.post(reverse("admin:kestra_iam_group_delete", args=[group.pk]), {"post": "yes"})
    recorded = [(e.action, e.tenant_id, e.detail) for e in events(actor_type="admin")]
    assert recorded[0][:2] == ("admin.tenant.add", "acme")
    assert recorded[1][0] == "admin.user.change" and "Staff status" in recorded[1][2]
    assert recorded[2][:2] == ("admin.group.delete", "main")


def test_commands_are_recorded(tenant):
    out = StringIO()
    call_command("integration", "create", "--tenant", "main", "--name", "Cli", "--json", stdout=out)
    integration_id = json.loads(out.getvalue())["id"]
    call_command("integration", "disable", integration_id, stdout=StringIO())
    call_command("integration", "delete", integration_id, stdout=StringIO())
    call_command("tenant", "create", "acme", stdout=StringIO())
    recorded = [(e.action, str(e.integration_id)) for e in events(actor_type="command")]
    assert recorded[-1] == ("command.tenant.create", "None")
    assert events(action="command.tenant.create")[0].tenant_id == "acme"
    recorded = recorded[:-1]
    assert recorded == [
        ("command.integration.create", integration_id),
        ("command.integration.disable", integration_id),
        ("command.integration.delete", integration_id),
    ]
    assert "manage.py" in events(actor_type="command")[0].actor


def test_prune(tenant):
    integration_create(tenant=tenant, name="x")
    old = AuditEvent.objects.create(action="old", outcome=200, actor_type="admin", actor="a")
    AuditEvent.objects.filter(pk=old.pk).update(occurred_at=now() - timedelta(days=91))
    AuditEvent.objects.create(action="new", outcome=200, actor_type="admin", actor="a")
    out = StringIO()
    call_command("audit", "prune", "--older-than", "90", stdout=out)
    assert "Deleted 1 audit event(s)" in out.getvalue()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["new"]
    with pytest.raises(CommandError, match="at least 1 day"):
        call_command("audit", "prune", "--older-than", "0")


def test_the_admin_shows_the_trail_read_only_with_filters(admin_client, scim):
    scim.create_user("shown@example.com")
    url = reverse("admin:kestra_iam_auditevent_changelist")
    html = admin_client.get(url).content.decode()
    assert (
        "Entra ID</a> created user" in html
        and ">Audit<" in admin_client.get("/admin/").content.decode()
    )
    for query in (
        "?tenant=main",
        f"?integration={scim.integration.pk}",
        "?outcome=success",
        "?outcome=refused",
    ):
        assert admin_client.get(url + query).status_code == 200
    assert "created user" not in admin_client.get(url + "?outcome=refused").content.decode()
    event = AuditEvent.objects.get()
    page = admin_client.get(reverse("admin:kestra_iam_auditevent_change", args=[event.pk])).content
    assert b"Entra ID</a> created user" in page and b"scim.users.create" in page
    assert admin_client.get(reverse("admin:kestra_iam_auditevent_add")).status_code == 403
    event = AuditEvent.objects.get()
    change = admin_client.post(
        reverse("admin:kestra_iam_auditevent_change", args=[event.pk]), {"action": "forged"}
    )
    assert change.status_code == 403
    assert AuditEvent.objects.get().action == "scim.users.create"


@pytest.mark.parametrize(
    "text, stored",
    [
        ("Zoë — 50 % sûr", "Zoë — 50 % sûr"),
        ("a\x00b\r\n", "a\ufffdb\ufffd\ufffd"),
        ("no\u00a0break\u2028line", "no\u00a0break\u2028line"),  # separators are not controls
        ("bidi\u202eoverride", "bidi\ufffdoverride"),  # a format character (category Cf)
    ],
)
def test_event_text_keeps_every_character_but_controls(text, stored):
    from kestra_iam.audit import printable

    assert printable(text) == stored
