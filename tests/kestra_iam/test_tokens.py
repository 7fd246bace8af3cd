"""The Secret Token: its shape, digest-only storage, and verification."""

import re
import string
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from kestra_iam import tokens
from kestra_iam.models import ApiToken
from kestra_iam.services import api_token_authenticate, api_token_issue, api_token_revoke_all
from provisioning.services import integration_create

pytestmark = pytest.mark.django_db

URL_SAFE = set(string.ascii_letters + string.digits + "-_")


@pytest.fixture
def created(tenant):
    return integration_create(tenant=tenant, name="Entra")


def test_token_is_about_200_url_safe_characters_with_a_prefix(created):
    raw = created.raw_token
    assert len(raw) == 200
    assert raw.startswith("kiam_")
    assert set(raw) <= URL_SAFE


def test_tokens_are_unique(service_account):
    raws = {api_token_issue(service_account=service_account).raw for _ in range(20)}
    assert len(raws) == 20


def test_no_plaintext_token_anywhere_at_rest(created):
    """Search every text value of every table for the token and its secret part."""
    raw = created.raw_token
    secret = tokens.parse(raw).secret
    hits = []
    for model in apps.get_models():
        columns = [f.column for f in model._meta.concrete_fields]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(connection.ops.quote_name(c) for c in columns)} "  # noqa: S608 - names from model metadata
                f"FROM {connection.ops.quote_name(model._meta.db_table)}"
            )
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                if secret in text or raw in text:
                    hits.append(model._meta.label)
    assert hits == []
    token = ApiToken.objects.get()
    assert token.digest == tokens.digest(secret, token.pepper_id)


def test_the_right_token_authenticates(created):
    token = api_token_authenticate(created.raw_token)
    assert token is not None
    assert token.service_account == created.integration.service_account


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"), id="wrong-secret"),
        pytest.param(lambda raw: raw[:5] + "a" * 16 + raw[21:], id="unknown-key-id"),
        pytest.param(lambda raw: raw[:100], id="truncated"),
        pytest.param(lambda raw: raw + "x", id="too-long"),
        pytest.param(lambda raw: "", id="empty"),
        pytest.param(lambda raw: "Bearer " + raw, id="scheme-inside"),
        pytest.param(lambda raw: raw.replace("kiam_", "ghp_"), id="other-prefix"),
    ],
)
def test_anything_else_fails_the_same_way(created, mangle):
    assert api_token_authenticate(mangle(created.raw_token)) is None


def test_revoked_and_expired_tokens_fail(created):
    account = created.integration.service_account
    ApiToken.objects.update(expires_at=now() - timedelta(seconds=1))
    assert api_token_authenticate(created.raw_token) is None
    ApiToken.objects.update(expires_at=None)
    assert api_token_authenticate(created.raw_token) is not None
    api_token_revoke_all(service_account=account)
    assert api_token_authenticate(created.raw_token) is None


def test_pepper_rotation_keeps_old_tokens_until_their_pepper_is_removed(service_account, settings):
    settings.KESTRA_TOKEN_PEPPERS = {1: "p" * 40}
    old = api_token_issue(service_account=service_account)
    settings.KESTRA_TOKEN_PEPPERS = {1: "p" * 40, 2: "q" * 40}
    new = api_token_issue(service_account=service_account)
    assert (old.token.pepper_id, new.token.pepper_id) == (1, 2)
    assert api_token_authenticate(old.raw) is not None
    assert api_token_authenticate(new.raw) is not None
    settings.KESTRA_TOKEN_PEPPERS = {2: "q" * 40}
    assert api_token_authenticate(old.raw) is None
    assert api_token_authenticate(new.raw) is not None


def test_last_used_is_written_at_most_once_a_minute(created):
    with CaptureQueriesContext(connection) as first:
        api_token_authenticate(created.raw_token)
    with CaptureQueriesContext(connection) as second:
        api_token_authenticate(created.raw_token)

    def updates(ctx):
        return [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]

    assert len(updates(first)) == 1
    assert updates(second) == []
    ApiToken.objects.update(last_used_at=now() - timedelta(minutes=2))
    with CaptureQueriesContext(connection) as third:
        api_token_authenticate(created.raw_token)
    assert len(updates(third)) == 1


def test_display_shows_prefix_and_last_characters_only(created):
    token = ApiToken.objects.get()
    assert re.fullmatch(r"kiam_[a-z2-7]{16}….{4}", token.display)
    assert created.raw_token.startswith(token.display[:21])
    assert created.raw_token.endswith(token.display[-4:])


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("api_token_authenticate", "kestra_iam.services.api_token_authenticate"),
        ("parse", "kestra_iam.tokens.parse"),
        ("_read_principal", "scim.authentication.SCIMTokenAuthentication._read_principal"),
    ],
)
def test_a_raw_token_never_reaches_an_error_report(where, path, monkeypatch, db):
    """As Django's `authenticate` does for passwords: an exception raised where a raw token is
    in scope shows the token's variable masked in the error report (the 500 e-mail, the
    debug page)."""
    from django.views.debug import ExceptionReporter

    from kestra_iam.services import api_token_authenticate
    from scim.authentication import SCIMTokenAuthentication

    raw = "kiam_" + "a" * 16 + "_" + "S3CR3T" * 29 + "xxxx"

    def boom(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tokens, "_TOKEN_RE", type("Boom", (), {"match": staticmethod(boom)}))
    callables = {
        "api_token_authenticate": api_token_authenticate,
        "parse": tokens.parse,
        "_read_principal": lambda raw: SCIMTokenAuthentication()._read_principal(raw),
    }
    with pytest.raises(RuntimeError) as raised:
        callables[where](raw)
    report = ExceptionReporter(None, raised.type, raised.value, raised.tb).get_traceback_frames()
    # The product's frames (not this test's, which holds the token itself).
    frames = {
        frame["function"]: frame["vars"] for frame in report if "/tests/" not in frame["filename"]
    }
    assert where in frames
    assert "S3CR3T" not in repr(frames)
    assert any("********" in repr(variables) for variables in frames.values())
