"""System checks of the deployment's database options."""

from django.core import checks

from kestra_iam.checks import router_errors, server_side_binding_errors

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


def test_a_database_router_is_refused():
    assert [e.id for e in router_errors(["myproject.routers.ReadReplica"])] == ["kestra_iam.E002"]
    assert router_errors([]) == []
    from kestra_iam.checks import one_database

    assert one_database in checks.registry.registry.get_checks() and one_database() == []
