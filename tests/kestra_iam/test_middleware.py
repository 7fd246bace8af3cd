"""The browser's middleware (sessions, CSRF, login, messages) serves the admin, not the API."""

import pytest
from django.test import Client
from django.urls import reverse

from kestra_iam.models import Tenant
from tests.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.django_db


def test_the_admin_still_refuses_a_post_without_its_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse("admin:kestra_iam_tenant_add"), {"id": "x", "name": "X"})
    assert response.status_code == 403
    assert not Tenant.objects.filter(pk="x").exists()


def test_the_admin_still_logs_in_and_keeps_its_session(admin_user):
    client = Client(enforce_csrf_checks=True)
    login_page = client.get(reverse("admin:login"))
    token = login_page.context["csrf_token"]
    response = client.post(
        reverse("admin:login"),
        {"username": "admin", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_an_admin_session_does_not_authenticate_the_api(admin_user, scim):
    browser = Client()
    browser.force_login(admin_user)
    response = browser.get(scim.url("/Users"))  # the session cookie, no bearer token
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers and "sessionid" not in response.cookies


def test_the_api_sets_no_cookie_and_reads_no_session(scim):
    response = scim.get("/Users")
    assert response.status_code == 200
    assert not response.cookies
    assert not hasattr(response.wsgi_request, "session")
    assert "Vary" not in response.headers or "Cookie" not in response.headers["Vary"]
