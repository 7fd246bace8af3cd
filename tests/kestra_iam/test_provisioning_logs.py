"""The audit trail as provisioning logs: what each write did and changed, told in sentences, with
links and filters, downloadable, and pruned in batches."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.timezone import now

from kestra_iam.audit_story import sentence
from kestra_iam.models import AuditEvent

pytestmark = pytest.mark.django_db

TRAIL = "admin:kestra_iam_auditevent_changelist"


def last(**filters) -> AuditEvent:
    return AuditEvent.objects.filter(**filters).order_by("-id").first()


def told(event: AuditEvent) -> str:
    from kestra_iam.audit_story import actors_of

    return sentence(event, actors_of([event])[event.pk].name)


def members(user_id: str, op: str = "add") -> dict:
    return {"op": op, "path": "members", "value": [{"value": user_id}]}


@pytest.fixture
def entra(integration_factory, tenant):
    return integration_factory(tenant, name="Entra ID - Contoso")


def test_the_entra_story_reads_as_sentences_with_what_changed(entra):
    ada = entra.create_user(
        "ada@contoso.com", active=True, title="Engineer", password="Sup3r-secret!"
    )
    event = last(action="scim.users.create")
    assert (event.kind, event.subject) == ("created", "ada@contoso.com")
    assert told(event) == "Entra ID - Contoso created user ada@contoso.com in main"

    entra.patch_ops(
        f"/Users/{ada['id']}",
        {"op": "replace", "path": "title", "value": "Lead"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ada@contoso.com"},
        {"op": "replace", "path": "password", "value": "An0ther-secret!"},
    )
    event = last(action="scim.users.update")
    assert event.kind == "updated"
    attributes = event.changes["attributes"]
    assert attributes["title"] == ["Engineer", "Lead"]
    assert attributes["password"] == "set"  # never the value, nor its hash
    assert attributes["emails"] == ["", "ada@contoso.com (work)"]
    assert "An0ther" not in json.dumps(event.changes)

    entra.patch_ops(f"/Users/{ada['id']}", {"op": "Replace", "path": "active", "value": "False"})
    event = last(action="scim.users.update")
    assert (event.kind, event.changes["attributes"]["active"]) == ("disabled", [True, False])
    assert told(event) == "Entra ID - Contoso disabled user ada@contoso.com in main"
    entra.patch_ops(f"/Users/{ada['id']}", {"op": "replace", "path": "active", "value": True})
    assert last(action="scim.users.update").kind == "enabled"

    group = entra.create_group("Data Engineers")
    entra.patch_ops(f"/Groups/{group['id']}", members(ada["id"]))
    event = last(action="scim.groups.update")
    assert event.kind == "members" and event.subject == "Data Engineers"
    assert event.changes["members"] == {
        "added": ["ada@contoso.com"], "added_count": 1, "removed": [], "removed_count": 0
    }  # fmt: skip
    assert told(event) == "Entra ID - Contoso added ada@contoso.com to Data Engineers in main"
    entra.patch_ops(f"/Groups/{group['id']}", members(ada["id"], "remove"))
    event = last(action="scim.groups.update")
    assert told(event) == "Entra ID - Contoso removed ada@contoso.com from Data Engineers in main"
    entra.patch_ops(f"/Groups/{group['id']}", members(ada["id"], "remove"))  # not a member
    assert last(action="scim.groups.update").changes == {}

    entra.delete(f"/Users/{ada['id']}")
    event = last(action="scim.users.delete")
    assert (event.kind, event.subject) == ("access_removed", "ada@contoso.com")
    assert told(event) == "Entra ID - Contoso removed ada@contoso.com's access to main"
    entra.delete(f"/Groups/{group['id']}")
    assert told(last(action="scim.groups.delete")) == (
        "Entra ID - Contoso deleted group Data Engineers in main"
    )


def test_a_rename_and_a_link_are_told_as_such(entra, other_scim):
    ada = entra.create_user("ada@contoso.com")
    entra.patch_ops(
        f"/Users/{ada['id']}", {"op": "replace", "path": "userName", "value": "ada.l@contoso.com"}
    )
    event = last(action="scim.users.update")
    assert event.subject == "ada.l@contoso.com"
    assert event.changes["attributes"]["userName"] == ["ada@contoso.com", "ada.l@contoso.com"]
    other_scim.create_user("ada.l@contoso.com")
    event = last(action="scim.users.create")
    assert event.kind == "linked" and event.tenant_id == "other"
    assert told(event) == "Other IdP linked the existing user ada.l@contoso.com into other"


def test_what_an_event_says_it_changed_is_bounded(entra):
    ids = [entra.create_user(f"member{i:02}@contoso.com")["id"] for i in range(30)]
    group = entra.create_group("Everyone", members=[{"value": pk} for pk in ids])
    created = last(action="scim.groups.create").changes["members"]
    assert created["added_count"] == 30 and len(created["added"]) == 10
    entra.put(f"/Groups/{group['id']}", {"displayName": "Everyone", "members": []})
    replaced = last(action="scim.groups.replace")
    assert replaced.changes["members"]["removed_count"] == 30
    assert len(replaced.changes["members"]["removed"]) == 10
    assert all(name.endswith("@contoso.com") for name in replaced.changes["members"]["removed"])
    assert told(replaced) == "Entra ID - Contoso removed 30 members from Everyone in main"
    user = entra.create_user("long@contoso.com")
    entra.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "x" * 200})
    title = last(action="scim.users.update").changes["attributes"]["title"]
    assert len(title[1]) == 121 and title[1].endswith("…")


def test_the_trail_links_every_name_and_filters_by_subject_request_kind(admin_client, entra):
    ada = entra.create_user("ada@contoso.com", active=True)
    entra.patch_ops(f"/Users/{ada['id']}", {"op": "replace", "path": "active", "value": False})
    entra.create_user("bob@contoso.com")
    url = reverse(TRAIL)
    html = admin_client.get(url).content.decode()
    integration_page = reverse(
        "admin:provisioning_provisioningintegration_change", args=[entra.integration.pk]
    )
    user_page = reverse("admin:kestra_iam_user_change", args=[ada["id"]])
    assert f'<a href="{integration_page}">Entra ID - Contoso</a> disabled user ' in html
    assert f'<a href="{user_page}">ada@contoso.com</a>' in html
    assert "active: true → false" in html
    disabled = last(kind="disabled")
    assert f"?request={disabled.request_id}" in html

    by_subject = admin_client.get(url + f"?resource={ada['id']}").content.decode()
    assert "bob@contoso.com" not in by_subject and by_subject.count(f'href="{user_page}"') == 2
    by_request = admin_client.get(url + f"?request={disabled.request_id}").content.decode()
    assert "disabled user" in by_request and "created user" not in by_request
    by_kind = admin_client.get(url + "?kind=disabled").content.decode()
    assert "disabled user" in by_kind and "bob@contoso.com" not in by_kind
    searched = admin_client.get(url + "?q=bob").content.decode()
    assert "bob@contoso.com" in searched and "ada@contoso.com</a>" not in searched


def test_logs_keep_the_integration_name_and_filter_after_it_is_deleted(admin_client, entra):
    entra.create_user("ada@contoso.com")
    integration_id = entra.integration.pk
    # Deleted from the admin: its deletion event records its name.
    admin_client.post(
        reverse("admin:provisioning_provisioningintegration_delete", args=[integration_id]),
        {"post": "yes"},
    )
    url = reverse(TRAIL) + f"?integration={integration_id}"
    html = admin_client.get(url).content.decode()
    # No longer a link to the integration's page, which is gone; still its name.
    assert '<td class="field-what_happened">Entra ID - Contoso created user <a ' in html
    assert "Entra ID - Contoso (deleted)" in html  # the filter still offers it


def test_a_deleted_integration_is_named_after_a_command_deletion_too(entra):
    entra.create_user("ada@contoso.com")
    call_command("integration", "delete", str(entra.integration.pk), stdout=io.StringIO())
    assert told(last(action="scim.users.create")).startswith("Entra ID - Contoso created user")
    assert last(action="command.integration.delete").subject == "Entra ID - Contoso"


def test_refused_and_failed_writes_are_told_apart(entra):
    from kestra_iam.audit import AuditEntry

    entra.post("/Users", {"userName": ""})
    refused = last(action="scim.users.create")
    assert told(refused) == "Entra ID - Contoso was refused (400) trying to create user in main"
    failed = AuditEntry(
        action="scim.users.replace", actor_type="service_account", actor=refused.actor,
        tenant_id="main", integration_id=entra.integration.pk, resource_type="USERS",
        resource_id="8e2b6f0c-0000-0000-0000-000000000000",
    ).record_refusal(outcome=503)  # fmt: skip
    assert told(failed).startswith(
        "Entra ID - Contoso failed (503) trying to replace user 8e2b6f0c…"
    )


def test_admin_and_command_events_are_told_too(admin_client, tenant):
    admin_client.post(
        reverse("admin:kestra_iam_role_add"),
        {"tenant": "main", "name": "Auditors", "permissions": ["AUDITLOGS:READ"]},
    )
    event = last(action="admin.role.add")
    assert (event.kind, event.subject) == ("created", "Auditors")
    assert told(event) == "admin created role Auditors in main"
    call_command("role", "delete", "--tenant", "main", "--name", "Auditors", stdout=io.StringIO())
    event = last(action="command.role.delete")
    assert event.subject == "Auditors" and told(event).endswith("deleted role Auditors in main")


def _download(admin_client, fmt: str, query: str = "") -> str:
    response = admin_client.get(reverse("admin:kestra_iam_auditevent_export", args=[fmt]) + query)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    return b"".join(response.streaming_content).decode()


def test_the_filtered_trail_downloads_as_csv_and_json_lines(admin_client, entra):
    ada = entra.create_user("ada@contoso.com", active=True)
    entra.patch_ops(f"/Users/{ada['id']}", {"op": "replace", "path": "active", "value": False})
    entra.create_user("=HYPERLINK(1)")
    rows = [json.loads(line) for line in _download(admin_client, "jsonl").splitlines()]
    assert [row["kind"] for row in rows] == ["created", "disabled", "created"]  # oldest first
    assert rows[1]["sentence"] == "Entra ID - Contoso disabled user ada@contoso.com in main"
    assert rows[1]["changes"] == {"attributes": {"active": [True, False]}}
    only = _download(admin_client, "jsonl", "?kind=disabled").splitlines()
    assert len(only) == 1
    table = list(csv.DictReader(io.StringIO(_download(admin_client, "csv"))))
    assert [row["subject"] for row in table] == ["ada@contoso.com", "ada@contoso.com",
                                                 "'=HYPERLINK(1)"]  # fmt: skip
    assert json.loads(table[1]["changes"]) == {"attributes": {"active": [True, False]}}
    bad = admin_client.get(reverse("admin:kestra_iam_auditevent_export", args=["xml"]))
    assert bad.status_code == 400 and b"choose csv or jsonl" in bad.content


def test_the_download_needs_the_trail_view_permission(client, tenant):
    from tests.factories import tenant_admin

    client.force_login(tenant_admin(tenant, "clerk", {"USERS": ["READ"]}))
    response = client.get(reverse("admin:kestra_iam_auditevent_export", args=["csv"]))
    assert response.status_code == 403


def _age(event_id: int, days: float) -> None:
    AuditEvent.objects.filter(pk=event_id).update(occurred_at=now() - timedelta(days=days))


def test_audit_export_for_a_siem(entra, tmp_path):
    old = entra.create_user("old@contoso.com")
    _age(last(resource_id=old["id"]).pk, 10)
    entra.create_user("new@contoso.com")
    out = io.StringIO()
    call_command("audit", "export", "--since", "7d", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["subject"] for row in rows] == ["new@contoso.com"]
    assert rows[0]["actor_name"] == "Entra ID - Contoso" and rows[0]["tenant"] == "main"
    target = tmp_path / "trail.csv"
    err = io.StringIO()
    call_command(
        "audit", "export", "--format", "csv", "--output", str(target),
        "--integration", str(entra.integration.pk), "--until", "7d", stderr=err,
    )  # fmt: skip
    assert [r["subject"] for r in csv.DictReader(target.open())] == ["old@contoso.com"]
    assert f"Exported 1 audit event(s) to {target}" in err.getvalue()
    since = (now() - timedelta(days=1)).date().isoformat()
    out = io.StringIO()
    call_command("audit", "export", "--since", since, "--tenant", "nope", stdout=out)
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since: 'yesterday' is neither an ISO date"),
        (["--until", "2026-13-40"], "--until: '2026-13-40' is neither"),
        (["--integration", "x"], "--integration: 'x' is not an id"),
        (["--output", "/nonexistent/dir/file"], "--output: cannot write"),
        (["--since", "999999999d"], "--since: '999999999d' is further back than any date"),
    ],
)
def test_audit_export_refuses_bad_input_readably(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("audit", "export", *args, stdout=io.StringIO())


def test_prune_deletes_old_events_in_batches_and_keeps_the_rest(entra, monkeypatch):
    from kestra_iam.management.commands import audit as audit_command

    for i in range(7):
        entra.create_user(f"user{i}@contoso.com")
    old = list(AuditEvent.objects.order_by("id").values_list("pk", flat=True))[:5]
    for pk in old:
        _age(pk, 40)
    out = io.StringIO()
    call_command("audit", "prune", "--older-than", "30", "--dry-run", stdout=out)
    assert "Would delete 5 audit event(s)" in out.getvalue()
    assert AuditEvent.objects.count() == 7
    monkeypatch.setattr(audit_command, "BATCH", 2)
    out = io.StringIO()
    with override_settings(AUDIT_RETENTION_DAYS=30), CaptureQueriesContext(connection) as sql:
        call_command("audit", "prune", stdout=out)  # the setting's retention
    deletes = [q["sql"] for q in sql.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1, each in its own transaction
    assert "Deleted 5 audit event(s) older than 30 day(s)" in out.getvalue()
    assert set(AuditEvent.objects.values_list("pk", flat=True)).isdisjoint(old)
    assert AuditEvent.objects.count() == 2


def test_prune_batches_are_oldest_first(db):
    for days in (50, 40, 45):
        event = AuditEvent.objects.create(action="x", outcome=200, actor_type="admin", actor="a")
        _age(event.pk, days)
    from kestra_iam.management.commands.audit import prune

    assert prune(now() - timedelta(days=44), batch=1) == 2
    assert AuditEvent.objects.count() == 1


def test_a_download_with_filters_the_list_does_not_have_is_a_400(admin_client):
    url = reverse("admin:kestra_iam_auditevent_export", args=["csv"])
    response = admin_client.get(url + "?occurred_at__gte=not-a-date")
    assert response.status_code == 400 and b"not the audit list's" in response.content


def test_prune_without_a_retention_is_refused(db):
    with pytest.raises(CommandError, match="AUDIT_RETENTION_DAYS is 0"):
        call_command("audit", "prune")
    with pytest.raises(CommandError, match="at least 1 day"):
        call_command("audit", "prune", "--older-than", "0")
    with pytest.raises(CommandError, match="further back than any date"):
        call_command("audit", "prune", "--older-than", "999999999")


def test_the_trail_counts_up_to_a_bound(admin_client, db, monkeypatch):
    from kestra_iam.admin_audit import BoundedCountPaginator

    monkeypatch.setattr(BoundedCountPaginator, "COUNT_UP_TO", 5)
    AuditEvent.objects.bulk_create(
        AuditEvent(action="x.y.create", outcome=201, actor_type="admin", actor="a")
        for _ in range(7)
    )
    html = admin_client.get(reverse(TRAIL)).content.decode()
    assert "more than 5 audit events" in html
    AuditEvent.objects.filter(
        pk__in=list(AuditEvent.objects.values_list("pk", flat=True)[:3])
    ).delete()
    assert "4 audit events" in admin_client.get(reverse(TRAIL)).content.decode()
