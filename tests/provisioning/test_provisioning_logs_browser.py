"""The Entra story, in Chromium: after each step Entra takes over real HTTP — create, update,
disable, add to a group, remove from it, delete — what the audit trail and the integration's
page say, including at a phone's width.

With SCREENSHOTS_DIR set (`make screenshots`), the pages are saved there as the README's
screenshots.
"""

import os
from pathlib import Path

import pytest

from provisioning.selectors import scim_base_path
from provisioning.services import integration_create
from tests.scim.entra.test_replay import entra_user
from tests.scim.http import EntraClient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png", full_page=True)


def newest(page) -> str:
    """The newest event's sentence, as the trail shows it."""
    return (
        page.locator("#result_list tbody tr").first.locator("td.field-what_happened").inner_text()
    )


def fits(page) -> bool:
    """Nothing widens the page beyond the window; wide tables scroll inside their box."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_entra_story_as_the_trail_and_the_console_tell_it(admin_login, tenant, live_server):
    created = integration_create(tenant=tenant, name="Entra ID - Contoso")
    integration = created.integration
    entra = EntraClient(
        live_server.url + scim_base_path(tenant_id="main", integration_id=integration.pk),
        created.raw_token,
        "default",
    )
    page = admin_login()
    trail = f"{live_server.url}/admin/kestra_iam/auditevent/"
    console = (
        f"{live_server.url}/admin/provisioning/provisioningintegration/{integration.pk}/change/"
    )

    def step(expected: str, changed: str | None = None) -> None:
        page.goto(trail)
        assert newest(page) == expected
        if changed is not None:
            row = page.locator("#result_list tbody tr").first
            assert changed in row.locator("td.field-what_changed").inner_text()

    response = entra.post("/Users", entra_user("ada@contoso.com"))
    assert response.status == 201
    ada = response.json()["id"]
    step("Entra ID - Contoso created user ada@contoso.com in main")

    title = {"op": "Replace", "path": "title", "value": "Data engineer"}
    assert entra.patch(f"/Users/{ada}", title).status == 200  # a user PATCH answers the user
    step(
        "Entra ID - Contoso updated user ada@contoso.com in main", "title: (none) → “Data engineer”"
    )

    disable = {"op": "Replace", "path": "active", "value": "False"}
    assert entra.patch(f"/Users/{ada}", disable).status == 200
    step("Entra ID - Contoso disabled user ada@contoso.com in main", "active: true → false")

    response = entra.post("/Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Data Engineers", "externalId": "8e2b", "members": [],
    })  # fmt: skip
    assert response.status == 201
    group = response.json()["id"]
    assert (
        entra.patch(
            f"/Groups/{group}", {"op": "Add", "path": "members", "value": [{"value": ada}]}
        ).status
        == 204
    )
    step(
        "Entra ID - Contoso added ada@contoso.com to Data Engineers in main",
        "members added (+1): ada@contoso.com",
    )

    # The console after the group steps: what it provisioned, linked; its last write, told.
    page.goto(console)
    facts = page.locator("dl.console-facts")
    assert "1 user, 1 group" in facts.locator("dd").first.inner_text()
    assert "added ada@contoso.com to Data Engineers" in facts.inner_text()
    page.locator("a.provisioned-users").click()
    page.wait_for_url("**/kestra_iam/user/?integration=*")
    page.wait_for_selector("#result_list tbody tr")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "ada@contoso.com" in page.locator("#result_list").inner_text()
    page.goto(console)
    shoot(page, "console")
    if SCREENSHOTS:
        page.emulate_media(color_scheme="dark")
        page.goto(console + "?activity=24h")
        page.locator("fieldset.console.activity").screenshot(
            path=Path(SCREENSHOTS) / "activity-dark.png"
        )
        page.emulate_media(color_scheme="light")
        page.goto(f"{live_server.url}/admin/provisioning/provisioningintegration/")
        shoot(page, "integrations")

    assert (
        entra.patch(
            f"/Groups/{group}",
            {"op": "Remove", "path": "members", "value": [{"value": ada}]},
        ).status
        == 204
    )
    step(
        "Entra ID - Contoso removed ada@contoso.com from Data Engineers in main",
        "members removed (-1): ada@contoso.com",
    )

    assert entra.delete(f"/Users/{ada}").status == 204
    step("Entra ID - Contoso removed ada@contoso.com's access to main")

    # Reconstructing "Entra disabled Ada, then removed her" takes one filter: her events.
    page.goto(trail + f"?resource={ada}")
    sentences = page.locator("td.field-what_happened").all_inner_texts()
    assert [s.removeprefix("Entra ID - Contoso ").split(" ada@")[0] for s in sentences] == [
        "removed", "disabled user", "updated user", "created user"
    ]  # fmt: skip
    assert "ada@contoso.com" in page.locator("#changelist-filter").inner_text()
    page.goto(trail)
    shoot(page, "trail")

    # A phone: the trail and the console scroll inside their boxes, the page does not widen.
    page.set_viewport_size({"width": 390, "height": 844})
    for url in (trail, console):
        page.goto(url)
        assert fits(page), url
    shoot(page, "console-390")
