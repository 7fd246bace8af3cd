"""Shared fixtures: tenants, integrations with their SCIM clients, the admin, and a guard that
fails any test during which a SCIM request ended in an unexpected error."""

import pytest
from django.core.servers.basehttp import WSGIServer
from django.db import connection

from tests.factories import ServiceAccountFactory, TenantFactory, UserFactory

# The system Chromium, for the tests that drive the admin in a browser (`page`, `browser`).
pytest_plugins = ["tests.browser", "tests.oidc_provider"]

ADMIN_PASSWORD = "correct horse battery staple"

# The live server's listen backlog is socketserver's default of 5: concurrency tests open 50
# connections at once, which a real deployment's gunicorn (backlog 2048) would queue.
WSGIServer.request_queue_size = 128


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are skipped, with the reason, when the suite runs on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/kestra_iam"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def behind_transaction_pooler() -> bool:
    """Whether the suite talks to PostgreSQL through PgBouncer in transaction mode (CI runs it
    so once: DATABASE_TRANSACTION_POOLER=true, DATABASE_URL on PgBouncer's port)."""
    from django.conf import settings

    return bool(settings.DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, plus: behind PgBouncer, close the pooler's server connections to the
    test database before it is dropped (PostgreSQL refuses to drop a database in use)."""
    yield
    if behind_transaction_pooler():
        import psycopg

        params = connection.get_connection_params()
        admin = psycopg.connect(
            host=params.get("host"),
            port=params.get("port"),
            user=params.get("user"),
            password=params.get("password"),
            dbname="pgbouncer",
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,  # the admin console speaks the simple protocol
        )
        with admin:
            name = connection.settings_dict["NAME"]
            admin.execute(f"KILL {name}")
            admin.execute(f"RESUME {name}")


@pytest.fixture
def pooled() -> bool:
    return behind_transaction_pooler()


@pytest.fixture(autouse=True)
def no_cache_outage_remembered():
    """A test that breaks the cache on purpose leaves the rate limiter pausing its calls; the
    next test starts with a cache that is tried at once."""
    from observability.availability import DATABASE_OUTAGE
    from scim.throttling import COUNTERS

    COUNTERS.retry_at, COUNTERS.outage.started_at = 0.0, None
    DATABASE_OUTAGE.started_at = None  # likewise a database outage, which logs only its start


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def tenant(db):
    return TenantFactory(id="main", name="Main")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(id="other", name="Other")


@pytest.fixture
def service_account(tenant):
    return ServiceAccountFactory(tenant=tenant)


@pytest.fixture
def admin_user(db):
    return UserFactory(user_name="admin", is_staff=True, is_superuser=True)


# --- SCIM ---------------------------------------------------------------------------------------


class SCIMClient:
    """An APIClient bound to one integration's SCIM base path, sending its Secret Token."""

    def __init__(self, integration, token: str) -> None:
        from rest_framework.test import APIClient

        from provisioning.selectors import scim_base_path

        self.integration = integration
        self.token = token
        self.base = scim_base_path(tenant_id=integration.tenant_id, integration_id=integration.pk)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **kwargs):
        return self.client.get(self.url(path), **kwargs)

    def delete(self, path: str, **kwargs):
        return self.client.delete(self.url(path), **kwargs)

    def _send(self, method: str, path: str, body, content_type: str, **kwargs):
        import json

        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(
            self.url(path), data=data, content_type=content_type, **kwargs
        )

    def post(self, path: str, body=None, content_type="application/scim+json", **kwargs):
        return self._send("post", path, body, content_type, **kwargs)

    def put(self, path: str, body=None, content_type="application/scim+json", **kwargs):
        return self._send("put", path, body, content_type, **kwargs)

    def patch(self, path: str, body=None, content_type="application/scim+json", **kwargs):
        return self._send("patch", path, body, content_type, **kwargs)

    def patch_ops(self, path: str, *operations, **kwargs):
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations),
        }
        return self.patch(path, body, **kwargs)

    def create_user(self, user_name: str, **attributes):
        response = self.post(
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                **attributes,
            },
        )
        assert response.status_code == 201, response.content
        return response.json()

    def create_group(self, display_name: str, **attributes):
        response = self.post(
            "/Groups",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": display_name,
                **attributes,
            },
        )
        assert response.status_code == 201, response.content
        return response.json()


@pytest.fixture
def integration_factory(db):
    """Create an integration (and its token) on a tenant; returns a SCIMClient for it."""
    from provisioning.services import integration_create

    def make(tenant, name="Entra ID", enabled=True) -> SCIMClient:
        created = integration_create(tenant=tenant, name=name, enabled=enabled)
        return SCIMClient(created.integration, created.raw_token)

    return make


@pytest.fixture
def scim(tenant, integration_factory) -> SCIMClient:
    return integration_factory(tenant)


@pytest.fixture
def other_scim(other_tenant, integration_factory) -> SCIMClient:
    return integration_factory(other_tenant, name="Other IdP")


# --- the decision API ---------------------------------------------------------------------------


def token_client(token: str):
    """An APIClient sending `token` as a bearer token."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def platform_token(tenant) -> str:
    """The token of a service account allowed to ask (a role with BINDINGS:READ, bound
    tenant-wide), as the platform would hold it."""
    from kestra_iam.rbac.services import binding_create, role_create, service_account_create
    from kestra_iam.services import api_token_issue

    account = service_account_create(tenant=tenant, name="kestra-platform")
    role = role_create(tenant=tenant, name="AccessReader", permissions={"BINDINGS": ["READ"]})
    binding_create(tenant=tenant, role=role, service_account=account)
    return api_token_issue(service_account=account).raw


@pytest.fixture
def platform(platform_token):
    return token_client(platform_token)


# --- no request may end in an unexpected error ----------------------------------------------------


@pytest.fixture(autouse=True)
def no_unexpected_scim_errors(monkeypatch):
    """Fail any test during which a SCIM request logged an unexpected (500) error."""
    from scim import exceptions

    unexpected = []
    original = exceptions.logger.exception

    def record(message, *args, **kwargs):
        unexpected.append(message % args if args else message)
        original(message, *args, **kwargs)

    monkeypatch.setattr(exceptions.logger, "exception", record)
    yield
    assert unexpected == [], f"a request ended in an unexpected error: {unexpected}"


@pytest.fixture(autouse=True)
def fresh_principal_cache():
    """Each test authenticates from scratch: no principal cached by an earlier test."""
    from scim.authentication import PRINCIPALS

    PRINCIPALS.clear()
    yield
    PRINCIPALS.clear()
