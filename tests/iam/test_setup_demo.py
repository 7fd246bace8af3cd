"""`make run`'s set-up command is idempotent and prints the password only once."""

import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from kestra_iam.models import Tenant, User

pytestmark = pytest.mark.django_db


def run(capsys) -> str:
    call_command("setup_demo")
    return capsys.readouterr().out


def test_first_run_creates_admin_and_tenant_and_prints_a_working_password(capsys):
    out = run(capsys)
    password = re.search(r"password: (\S+)", out).group(1)
    assert authenticate(username="admin", password=password) is not None
    assert Tenant.objects.filter(id="main").exists()


def test_second_run_reuses_everything_and_prints_no_password(capsys):
    first = run(capsys)
    second = run(capsys)
    assert "password:" in first
    assert "password:" not in second
    assert "exists" in second and "changepassword admin" in second
    assert User.objects.count() == 1 and Tenant.objects.count() == 1
