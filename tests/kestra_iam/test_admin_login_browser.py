"""Log in to the admin in Chromium and find Kestra's IAM section."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_and_see_the_iam_section(admin_login):
    page = admin_login()
    assert page.locator("#site-name").inner_text() == "Kestra Administration"
    iam = page.locator("#content-main .module", has=page.locator("caption", has_text="IAM"))
    for name in ["Users", "Groups", "Roles", "Bindings", "Service accounts"]:
        assert iam.locator("th").get_by_role("link", name=name, exact=True).count() == 1
    tenants = page.locator("#content-main .module", has=page.locator("caption", has_text="Tenants"))
    assert tenants.locator("th").get_by_role("link", name="Tenants", exact=True).count() == 1

    iam.locator("th").get_by_role("link", name="Users", exact=True).click()
    page.wait_for_selector("#result_list")
    assert "admin" in page.locator("#result_list").inner_text()


def test_wrong_password_is_refused(page, live_server, admin_user):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin_user.user_name)
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    # is_visible() does not wait for the answer to the post; on a busy machine it came first.
    page.locator(".errornote").wait_for(state="visible")
    assert "correct user name and password" in page.locator(".errornote").inner_text()
