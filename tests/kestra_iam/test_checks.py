"""System checks of the deployment's database options."""

from django.core import checks

from kestra_iam.checks import server_side_binding_errors

POSTGRES = "kestra_iam.db.postgresql"


def test_server_side_binding_is_refused():
    errors = server_side_binding_errors(
        {
            "default": {"ENGINE": POSTGRES, "OPTIONS": {"server_side_binding": True}},
            "other": {"ENGINE": POSTGRES, "OPTIONS": {}},
            "lite": {"ENGINE": "django.db.backends.sqlite3"},
        }
    )
    assert [(e.id, "'default'" in e.msg) for e in errors] == [("kestra_iam.E001", True)]


def test_the_check_is_registered_and_passes_on_these_settings():
    from kestra_iam.checks import client_side_binding

    assert client_side_binding in checks.registry.registry.get_checks()
    assert client_side_binding() == []
