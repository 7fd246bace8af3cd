"""The integration's console: readiness (page, `integration check`, `manage.py check`), repair
(button and command), activity, provisioned counts, recent problems, and the guardrails on the
role and integration delete pages."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils.timezone import now

from kestra_iam.models import AuditEvent, Binding, Role
from provisioning import activity
from provisioning.activity import integration_activity, integrations_activity_by_day
from provisioning.checks import integrations_can_authorise
from provisioning.console import integration_console
from provisioning.models import ProvisioningIntegration
from provisioning.readiness import integration_readiness, time_left
from provisioning.services import SCIM_PROVISIONER_ROLE

pytestmark = pytest.mark.django_db

CHANGE = "admin:provisioning_provisioningintegration_change"


def failing(integration) -> dict:
    return {c.key: c for c in integration_readiness(integration) if not c.ok}


def role_of(tenant) -> Role:
    return Role.objects.get(tenant=tenant, name=SCIM_PROVISIONER_ROLE)


def record(integration, outcome: int, *, hours_ago: float = 0, detail: str = "") -> AuditEvent:
    return AuditEvent.objects.create(
        occurred_at=now() - timedelta(hours=hours_ago),
        action="scim.users.create",
        actor_type=AuditEvent.ActorType.SERVICE_ACCOUNT,
        actor="scim",
        tenant_id=integration.tenant_id,
        integration_id=integration.pk,
        resource_type="USERS",
        outcome=outcome,
        detail=detail,
        request_id=f"req-{outcome}-{hours_ago}",
    )


# --- readiness ----------------------------------------------------------------------------------


def test_a_new_integration_is_ready(scim):
    assert failing(scim.integration) == {}
    assert scim.get("/Users").status_code == 200


def test_a_narrowed_role_is_red_with_what_it_lacks_and_repair_restores_it(scim, tenant):
    role = role_of(tenant)
    role.permissions = {**role.permissions, "USERS": ["CREATE", "UPDATE"]}
    role.save()
    assert scim.get("/Users").status_code == 403
    red = failing(scim.integration)
    assert set(red) == {"role"}
    assert "lacks USERS:READ" in red["role"].detail
    assert f"integration repair {scim.integration.pk}" in red["role"].fix

    out = StringIO()
    call_command("integration", "repair", str(scim.integration.pk), stdout=out)
    assert "reset the permissions of SCIMProvisioner" in out.getvalue()
    assert failing(scim.integration) == {}
    assert scim.get("/Users").status_code == 200


def test_a_widened_role_is_red_too(scim, tenant):
    role = role_of(tenant)
    role.permissions = {**role.permissions, "USERS": ["CREATE", "READ", "UPDATE", "DELETE"]}
    role.save()
    assert "also grants USERS:DELETE" in failing(scim.integration)["role"].detail


def test_a_deleted_role_breaks_role_and_binding_and_repair_recreates_both(scim, tenant):
    role_of(tenant).delete()
    assert scim.get("/Users").status_code == 403
    assert set(failing(scim.integration)) == {"role", "binding"}

    out = StringIO()
    call_command("integration", "repair", str(scim.integration.pk), "--json", stdout=out)
    changes = json.loads(out.getvalue())["repaired"]
    assert changes == [
        "re-created the role SCIMProvisioner",
        "bound its service account to SCIMProvisioner",
    ]
    assert failing(scim.integration) == {}
    assert scim.get("/Users").status_code == 200
    # Once in place, a repair changes nothing, and says so.
    out = StringIO()
    call_command("integration", "repair", str(scim.integration.pk), stdout=out)
    assert "needed no repair" in out.getvalue()
    assert Binding.objects.filter(service_account=scim.integration.service_account).count() == 1


def test_token_disabled_and_error_rate_checks(scim):
    integration = scim.integration
    integration.token_lifetime_days = 10
    integration.save()
    from provisioning.services import integration_rotate_token

    integration_rotate_token(integration=integration)
    token = failing(integration)["token"]
    assert "That is in 10 days." in token.detail
    assert "Rotate" in token.fix

    integration.enabled = False
    integration.save()
    assert "enabled" in failing(integration)

    for _ in range(3):
        record(integration, 201)
    record(integration, 500, hours_ago=1)
    # The trail only ever grows in the current hour, so completed hours are cached; this test
    # back-dates an event, which a real write never does.
    caches["default"].clear()
    errors = failing(integration)["errors"]
    assert errors.detail == "Last 24 h: 4 writes, 0 refused, 1 failed."
    record(integration, 500, hours_ago=30)  # outside the window: not counted
    assert failing(integration)["errors"].detail.startswith("Last 24 h: 4 writes")


def test_refusals_turn_red_only_when_many(scim):
    integration = scim.integration
    for _ in range(2):
        record(integration, 201)
    record(integration, 409)  # one conflict in a first sync of three writes is normal
    assert "errors" not in failing(integration)
    for _ in range(9):
        record(integration, 400)
    red = failing(integration)["errors"]
    assert red.detail == "Last 24 h: 12 writes, 10 refused, 0 failed."
    assert "attribute mappings" in red.fix


@pytest.mark.parametrize(
    "left, text",
    [
        (timedelta(days=10) - timedelta(seconds=2), "10 days"),
        (timedelta(days=1, hours=2), "1 day"),
        (timedelta(hours=23), "less than a day"),
        (timedelta(days=364, hours=23, minutes=59), "365 days"),
    ],
)
def test_time_left_rounds_to_the_nearest_day(left, text):
    assert time_left(left) == text


# --- manage.py ----------------------------------------------------------------------------------


def test_integration_check_prints_each_line_and_exits_1_when_not_ready(scim, tenant):
    out = StringIO()
    call_command("integration", "check", str(scim.integration.pk), stdout=out)
    assert out.getvalue().count("ok  ") == 6
    assert "Ready to provision." in out.getvalue()

    role_of(tenant).delete()
    out = StringIO()
    with pytest.raises(CommandError, match=r"Not ready: 2 check\(s\) fail \(role, binding\)") as e:
        call_command("integration", "check", str(scim.integration.pk), "--json", stdout=out)
    assert e.value.returncode == 1
    report = json.loads(out.getvalue())
    assert report["ready"] is False
    assert {c["key"]: c["ok"] for c in report["checks"]} == {
        "tenancy": True,
        "enabled": True,
        "token": True,
        "role": False,
        "binding": False,
        "errors": True,
    }


def test_manage_py_check_warns_about_each_broken_integration(scim, tenant, other_scim):
    assert integrations_can_authorise(None) == []
    role_of(tenant).delete()
    warnings = integrations_can_authorise(None)
    assert {w.id for w in warnings} == {"provisioning.W002"}
    assert all(w.obj == scim.integration for w in warnings)
    assert "The tenant has no role SCIMProvisioner" in warnings[0].msg
    with pytest.raises(SystemCheckError, match=r"provisioning\.W002"):
        call_command("check", fail_level="WARNING")


@pytest.mark.parametrize("days", ["0", "-3", "3651", "ten"])
def test_token_lifetime_days_out_of_range_is_refused(tenant, days):
    with pytest.raises(CommandError, match="is not a number of days from 1 to 3650"):
        call_command(
            "integration", "create", "--tenant", "main", "--name", "A",
            f"--token-lifetime-days={days}",
        )  # fmt: skip
    assert not ProvisioningIntegration.objects.exists()


# --- the console ---------------------------------------------------------------------------------


def test_console_counts_what_the_integration_provisioned_and_lists_its_problems(
    scim, other_scim, admin_client
):
    alice = scim.create_user("alice@example.com")
    scim.create_user("bob@example.com")
    scim.create_group("Engineers", members=[{"value": alice["id"]}])
    other_scim.create_user("carol@example.com")  # another integration's: not counted
    assert scim.post("/Users", {"userName": "alice@example.com"}).status_code == 409

    console = integration_console(scim.integration)
    assert (console.users, console.groups) == (2, 1)
    assert [p.event.outcome for p in console.problems] == [409]
    assert console.problems[0].sentence == (
        "Entra ID was refused (409) trying to create user in main"
    )
    assert console.last_event.outcome == 409

    html = admin_client.get(reverse(CHANGE, args=[scim.integration.pk])).content.decode()
    assert "Readiness: ready to provision" in html
    users = reverse("admin:kestra_iam_user_changelist") + f"?integration={scim.integration.pk}"
    groups = reverse("admin:kestra_iam_group_changelist") + f"?integration={scim.integration.pk}"
    assert f'<a class="provisioned-users" href="{users}"><span>2</span> users</a>' in html
    assert f'<a class="provisioned-groups" href="{groups}"><span>1</span> group</a>' in html
    listed = admin_client.get(users).content.decode()  # the links lead to exactly those
    assert "alice@example.com" in listed and "bob@example.com" in listed
    assert "carol@example.com" not in listed
    assert "Engineers" in admin_client.get(groups).content.decode()
    problem = console.problems[0].event
    assert reverse("admin:kestra_iam_auditevent_change", args=[problem.pk]) in html
    assert problem.request_id in html
    assert "A user with this userName already exists." in html
    assert "Repair role and binding" not in html
    for label in ("Role SCIMProvisioner", "Service account scim-", "Its bindings", "Audit events"):
        assert label in html


def test_the_chart_shows_the_numbers_of_the_audit_trail(scim, admin_client):
    integration = scim.integration
    for hours_ago, outcome in [(0, 201), (0, 201), (0, 409), (5, 500), (5, 204), (200, 201)]:
        record(integration, outcome, hours_ago=hours_ago)
    hours = integration_activity(integration.pk)
    assert len(hours) == 168
    assert sum(b.succeeded for b in hours) == 3  # the one 200 hours ago is outside the week
    assert (hours[-1].succeeded, hours[-1].refused, hours[-1].failed) == (2, 1, 0)
    assert (hours[-6].succeeded, hours[-6].failed) == (1, 1)
    days = integrations_activity_by_day([integration.pk])[integration.pk]
    assert len(days) == 7 and sum(b.total for b in days) == 5

    html = admin_client.get(reverse(CHANGE, args=[integration.pk])).content.decode()
    assert 'data-succeeded="2" data-refused="1" data-failed="0"' in html
    assert "5 writes in the last 7 days: 3 succeeded, 1 refused, 1 failed." in html
    assert '<svg class="activity-chart hourly" role="img"' in html
    listed = admin_client.get(reverse("admin:provisioning_provisioningintegration_changelist"))
    assert '<svg class="activity-chart mini"' in listed.content.decode()


def test_the_repair_button_shows_when_needed_and_repairs(scim, tenant, admin_client):
    url = reverse(CHANGE, args=[scim.integration.pk])
    role_of(tenant).delete()
    html = admin_client.get(url).content.decode()
    assert "Readiness: needs attention" in html
    assert "Repair role and binding" in html
    repair = reverse(
        "admin:provisioning_provisioningintegration_repair", args=[scim.integration.pk]
    )
    assert admin_client.get(repair).status_code == 405
    response = admin_client.post(repair, follow=True)
    assert "Repaired “Entra ID”: re-created the role SCIMProvisioner" in response.content.decode()
    assert failing(scim.integration) == {}
    assert AuditEvent.objects.filter(
        action__startswith="admin.", integration_id=scim.integration.pk
    ).exists()


# --- guardrails -----------------------------------------------------------------------------------


def test_the_integration_delete_page_lists_what_goes_with_it(scim, admin_client):
    account = scim.integration.service_account
    html = admin_client.get(
        reverse("admin:provisioning_provisioningintegration_delete", args=[scim.integration.pk])
    ).content.decode()
    assert f"Service account: {account.name}" in html
    token = account.tokens.get()
    assert f"API token: {token.display}" in html
    assert f"Binding: SCIMProvisioner → {account.name}" in html
    assert "Service accounts: 1" in html and "API tokens: 1" in html


def test_the_role_pages_name_the_integrations_that_rely_on_it(scim, tenant, admin_client):
    role = role_of(tenant)
    change = reverse("admin:kestra_iam_role_change", args=[role.pk])
    page = reverse(CHANGE, args=[scim.integration.pk])
    linked = f'<a href="{page}">“Entra ID”</a> (main)'
    assert f"{linked} rely on this role" in admin_client.get(change).content.decode()

    delete = reverse("admin:kestra_iam_role_delete", args=[role.pk])
    html = admin_client.get(delete).content.decode()
    assert f"Deleting this stops provisioning integrations {linked}" in html
    bulk = admin_client.post(
        reverse("admin:kestra_iam_role_changelist"),
        {"action": "delete_selected", "_selected_action": [role.pk]},
    )
    assert "Deleting this stops provisioning integrations" in bulk.content.decode()
    assert Role.objects.filter(pk=role.pk).exists()

    # Saving a role that no longer grants what SCIM needs says what broke, and how to fix it.
    saved = admin_client.post(
        change,
        {"tenant": "main", "name": role.name, "description": "", "grants": ["USERS:READ"]},
        follow=True,
    )
    assert "lacks" in saved.content.decode() and "Repair role and binding" in saved.content.decode()


def test_other_roles_carry_no_warning(scim, tenant, admin_client):
    other = Role.objects.create(tenant=tenant, name="Viewers", permissions={"USERS": ["READ"]})
    html = admin_client.get(reverse("admin:kestra_iam_role_change", args=[other.pk]))
    assert "rely on this role" not in html.content.decode()


def test_the_audit_list_links_events_to_their_resource_and_integration(scim, admin_client):
    user = scim.create_user("ada@example.com")
    html = admin_client.get(reverse("admin:kestra_iam_auditevent_changelist")).content.decode()
    user_page = reverse("admin:kestra_iam_user_change", args=[user["id"]])
    integration_page = reverse(CHANGE, args=[scim.integration.pk])
    assert (
        f'<a href="{integration_page}">Entra ID</a> created user '
        f'<a href="{user_page}">ada@example.com</a> in <a href="/admin/kestra_iam/tenant/main/'
    ) in html


def test_the_user_list_shows_access_per_tenant_and_who_provisioned_it(
    scim, other_scim, admin_client, tenant, other_tenant
):
    scim.create_user("ada@example.com")
    other_scim.create_user("ada@example.com")  # links the same global user into "other"
    bob = scim.create_user("bob@example.com")
    assert scim.patch_ops(f"/Users/{bob['id']}", {"op": "replace", "path": "active",
                                                   "value": False}).status_code == 200  # fmt: skip
    users = reverse("admin:kestra_iam_user_changelist")
    html = admin_client.get(users).content.decode()
    assert (
        '<span class="access active">main</span>, <span class="access active">other</span>'
    ) in html
    assert '<span class="access disabled">main (disabled)</span>' in html
    main_page = reverse(CHANGE, args=[scim.integration.pk])
    other_page = reverse(CHANGE, args=[other_scim.integration.pk])
    assert f'<a href="{main_page}">Entra ID</a>, <a href="{other_page}">Other IdP</a>' in html

    disabled = admin_client.get(users, {"disabled_in": "main"}).content.decode()
    assert "bob@example.com" in disabled and "ada@example.com" not in disabled
    assert (
        "ada@example.com" not in admin_client.get(users, {"disabled_in": "other"}).content.decode()
    )


def test_the_group_page_lists_its_first_members(scim, admin_client):
    members = [scim.create_user(f"user{n:02}@example.com") for n in range(25)]
    group = scim.create_group("Everyone", members=[{"value": m["id"]} for m in members])
    html = admin_client.get(
        reverse("admin:kestra_iam_group_change", args=[group["id"]])
    ).content.decode()
    preview = html[html.index('<ul class="member-preview">') :]
    preview = preview[: preview.index("</ul>")]
    assert preview.count("<li>") == 20
    assert ">user00@example.com</a>" in preview and ">user19@example.com</a>" in preview
    assert "user20@example.com" not in preview
    assert "All 25 members →" in html


def test_completed_hours_are_read_once_and_the_current_hour_every_time(
    scim, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(activity, "SETTLE", timedelta(0))  # whatever the minute of the hour
    integration = scim.integration
    record(integration, 201, hours_ago=3)
    caches["default"].clear()
    with django_assert_num_queries(2):  # the completed hours, then the current one
        first = integration_activity(integration.pk)
    record(integration, 409)
    with django_assert_num_queries(1):  # the current hour only
        second = integration_activity(integration.pk)
    assert sum(b.succeeded for b in first) == sum(b.succeeded for b in second) == 1
    assert (first[-1].refused, second[-1].refused) == (0, 1)


def test_a_failing_cache_only_makes_the_activity_slower(scim, settings):
    record(scim.integration, 201, hours_ago=2)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.05, "socket_timeout": 0.05},
        }
    }
    assert sum(b.total for b in integration_activity(scim.integration.pk)) == 1


def test_the_hour_just_completed_is_not_cached_until_stragglers_are_in(
    scim, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(activity, "SETTLE", timedelta(hours=2))  # always "just turned"
    caches["default"].clear()
    for _ in range(2):
        with django_assert_num_queries(2):
            integration_activity(scim.integration.pk)


def test_admin_and_command_changes_are_not_the_integrations_traffic(scim):
    call_command("integration", "disable", str(scim.integration.pk), stdout=StringIO())
    call_command("integration", "enable", str(scim.integration.pk), stdout=StringIO())
    assert AuditEvent.objects.filter(integration_id=scim.integration.pk).count() == 2
    console = integration_console(scim.integration)
    assert sum(b.total for b in console.activity) == 0
    assert console.last_event is None and console.problems == []
    assert "Last 24 h: 0 writes" in failing_or_passing(scim.integration, "errors").detail


def failing_or_passing(integration, key: str):
    return next(c for c in integration_readiness(integration) if c.key == key)


def test_the_chart_offers_24_hours_7_days_and_30_days_with_a_time_axis(scim, admin_client):
    integration = scim.integration
    for hours_ago, outcome in [(1, 201), (30, 201), (24 * 20, 409)]:
        record(integration, outcome, hours_ago=hours_ago)
    page = reverse(CHANGE, args=[integration.pk])
    day = admin_client.get(page + "?activity=24h").content.decode()
    assert "Activity: writes in the last 24 hours, hour by hour" in day
    assert "1 write in the last 24 hours: 1 succeeded" in day
    assert day.count('<g class="bucket"') == 24 and '<strong aria-current="true">24 hours' in day
    assert '<span style="left: ' in day and ":00</span>" in day  # hours on the axis
    week = admin_client.get(page).content.decode()  # the default
    assert "2 writes in the last 7 days" in week and week.count('<g class="bucket"') == 168
    month = admin_client.get(page + "?activity=30d").content.decode()
    assert "Activity: writes in the last 30 days, day by day" in month
    assert "3 writes in the last 30 days: 2 succeeded, 1 refused" in month
    assert month.count('<g class="bucket"') == 30 and '<svg class="activity-chart daily"' in month
    # Anything else is the default, not an error.
    assert "in the last 7 days" in admin_client.get(page + "?activity=1y").content.decode()


def test_an_integration_without_writes_says_so_in_words(scim, admin_client):
    html = admin_client.get(reverse(CHANGE, args=[scim.integration.pk])).content.decode()
    assert "No writes in the last 7 days." in html
    assert '<svg class="activity-chart' not in html  # no empty chart
    assert 'Refused tokens</dt>\n    <dd class="refused-tokens">none</dd>' in html


def test_each_fix_comes_with_its_control(scim, tenant, admin_client):
    from provisioning.services import integration_revoke_tokens, integration_set_enabled

    url = reverse(CHANGE, args=[scim.integration.pk])
    integration_set_enabled(integration=scim.integration, enabled=False)
    integration_revoke_tokens(integration=scim.integration)
    role_of(tenant).delete()
    html = admin_client.get(url).content.decode()
    toggle = reverse(
        "admin:provisioning_provisioningintegration_toggle", args=[scim.integration.pk]
    )
    rotate = reverse(
        "admin:provisioning_provisioningintegration_rotate_token", args=[scim.integration.pk]
    )
    assert f'class="button fix-enable" formaction="{toggle}"' in html
    assert f'class="button fix-rotate" formaction="{rotate}"' in html
    assert html.count("Repair role and binding</button>") == 1
    # The Enable button next to the fix enables it and comes back to this page.
    response = admin_client.post(toggle, {"next": url})
    assert response.status_code == 302 and response["Location"] == url
    scim.integration.refresh_from_db()
    assert scim.integration.enabled
    assert "fix-enable" not in admin_client.get(url).content.decode()


def test_the_users_page_shows_groups_per_tenant_and_who_created_each_access(
    scim, other_scim, admin_client
):
    ada = scim.create_user("ada@example.com")
    other_scim.create_user("ada@example.com")
    scim.create_group("Engineers", members=[{"value": ada["id"]}])
    html = admin_client.get(reverse("admin:kestra_iam_user_change", args=[ada["id"]])).content
    html = html.decode()
    assert ">Engineers</a>" in html and html.count(">Engineers</a>") == 1
    assert "groups in this tenant" in html.lower()
    assert f'href="{reverse(CHANGE, args=[scim.integration.pk])}">Entra ID</a>' in html
    assert f'href="{reverse(CHANGE, args=[other_scim.integration.pk])}">Other IdP</a>' in html
