"""Django settings for Kestra IAM.

Everything comes from environment variables (12-factor) plus the optional Kestra-shaped YAML file
named by KESTRA_CONFIG; an environment variable always wins over the file. The README has a table
of every setting. A bad value raises `ConfigError`, which manage.py and wsgi.py print as one line.
"""

import hashlib
import hmac
import re
from pathlib import Path

import dj_database_url

from kestra_iam.env import (
    ConfigError,
    KestraConfig,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    parse_bool,
    parse_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

KESTRA_CONFIG = KestraConfig.load(env_str("KESTRA_CONFIG"))

# --- Kestra -----------------------------------------------------------------------------------

# Public base URL used to build SCIM endpoints; None means "the scheme and host of the request".
KESTRA_URL = KESTRA_CONFIG.setting("kestra.url", "KESTRA_URL", parse_url, None)
# Provisioning exists only when tenancy is on (Kestra's default since 0.23).
KESTRA_TENANTS_ENABLED = KESTRA_CONFIG.setting(
    "kestra.ee.tenants.enabled", "KESTRA_EE_TENANTS_ENABLED", parse_bool, True
)

# --- Django core ------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ConfigError(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    SECRET_KEY = "django-insecure-local-development-only"  # DEBUG only, by the check above


def _parse_peppers(raw: str, *, setting: str) -> dict[int, str]:
    peppers: dict[int, str] = {}
    for item in raw.split(","):
        pepper_id, sep, pepper = item.strip().partition(":")
        if not sep or not pepper_id.isdigit() or int(pepper_id) > 32767:
            raise ConfigError(
                f"{setting} must look like '1:<pepper>,2:<pepper>' (ids 0-32767), got {item!r}"
            )
        if len(pepper) < 32:
            raise ConfigError(f"{setting}: pepper {pepper_id} must be at least 32 characters")
        peppers[int(pepper_id)] = pepper
    return peppers


# Secret keys of the API-token digests: {id: pepper}. New tokens use the highest id; a token made
# under an id that is removed stops working. Default: one pepper derived from DJANGO_SECRET_KEY.
_peppers = env_str("KESTRA_TOKEN_PEPPERS")
KESTRA_TOKEN_PEPPERS = (
    _parse_peppers(_peppers, setting="KESTRA_TOKEN_PEPPERS")
    if _peppers
    else {0: hmac.new(SECRET_KEY.encode(), b"kestra-iam token pepper", hashlib.sha256).hexdigest()}
)

_default_hosts = ["localhost", "127.0.0.1", "[::1]"]
if KESTRA_URL:
    _default_hosts.append(KESTRA_URL.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0])
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", _default_hosts)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [KESTRA_URL] if KESTRA_URL else [])

INSTALLED_APPS = [
    "kestra_iam.apps.KestraAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "kestra_iam",
    "access",
    "provisioning",
    "scim",
    "observability",
    "signin",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics are answered first: probes skip host checks and redirects.
    "observability.endpoints.OperationsEndpointsMiddleware",
    "kestra_iam.middleware.RequestIDMiddleware",
    "observability.requests.RequestObservationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, login and messages middleware, skipped for the token-authenticated SCIM
    # API, which keeps no session (see kestra_iam.middleware).
    "kestra_iam.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "kestra_iam.middleware.AuthenticationMiddleware",
    "kestra_iam.middleware.MessageMiddleware",
    # A tenant administrator whose every access provisioning disabled or removed is signed out.
    "signin.middleware.EndSessionWithoutAccess",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kestra_iam.urls"
WSGI_APPLICATION = "kestra_iam.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "signin.context.sign_in_options",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

_SUPPORTED_DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}


def _database_from_url(url: str) -> dict:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SUPPORTED_DATABASE_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL scheme {scheme or url!r} is not supported; "
            "use sqlite:///path/to/db.sqlite3 or postgres://user@host:5432/name"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0))
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        if config["NAME"] != ":memory:":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE transactions take the write lock up front, so concurrent writers queue instead
        # of failing with "database is locked" half-way through a transaction.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        _postgres_options(config)
    return config


def _postgres_options(config: dict) -> None:
    # Django's backend, with a health check of kept connections that asks the socket instead
    # of sending `SELECT 1`: no round trip, and no 503 for each worker's first request after
    # a failover or a restart closed its connection (kestra_iam/db/postgresql/base.py).
    config["ENGINE"] = "kestra_iam.db.postgresql"
    config["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_HEALTH_CHECKS", True)
    options = config.setdefault("OPTIONS", {})
    # A database host that does not answer fails the request (and /readyz) within seconds.
    options["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=2)
    if env_bool("DATABASE_TRANSACTION_POOLER", False):
        # PgBouncer in transaction mode hands each transaction whichever server connection is
        # free: no cursor may outlive its transaction, and startup `options` are refused, so
        # the timeouts below come from the pooler's `connect_query` or the database role
        # (README "Production"). Prepared statements are off already (Django's default).
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        return
    # Bound every statement and every lock wait: a stuck query or a long-held row lock
    # becomes a 503 with Retry-After instead of a request that outlives the worker timeout.
    statement_ms = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 20_000, minimum=0)
    lock_ms = env_int("DATABASE_LOCK_TIMEOUT_MS", 10_000, minimum=0)
    options["options"] = f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"


DATABASES = {
    "default": _database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kestra_iam.sqlite3'}")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication ---------------------------------------------------------------------------

AUTH_USER_MODEL = "kestra_iam.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# userName is unique through its case-insensitive canonical key (`User.user_name_key`, a database
# unique constraint), which is stricter than the plain unique column auth.E003 looks for.
SILENCED_SYSTEM_CHECKS = ["auth.E003"]

# --- SCIM service ----------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Only the SCIM views and the decision API use DRF, each with its own token authentication;
    # these keep DRF's defaults from adding session authentication or the browsable API.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The decision API's OpenAPI document (access/schema.py); SCIM describes itself per RFC 7644.
SPECTACULAR_SETTINGS = {
    "TITLE": "Kestra IAM — access decisions",
    "DESCRIPTION": "Ask whether a user or service account may do something in a tenant, what "
    "it holds, and where — with the bindings, groups or default role behind each answer.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["access.schema.only_the_access_api"],
    "COMPONENT_SPLIT_REQUEST": True,
}


def _parse_rate(raw: str | None, *, setting: str) -> tuple[int, int] | None:
    """`1000/10s`, `100/s`, `6000/m`, or `0` to switch the limit off; None when unset."""
    if raw is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(?:/\s*(\d*)\s*([smh]))?\s*", raw)
    if match is None or (match[1] != "0" and match[3] is None):
        raise ConfigError(f"{setting} must look like 1000/10s, 100/s or 6000/m (or 0), got {raw!r}")
    if match[3] is None:
        return 0, 1
    period = int(match[2] or 1) * {"s": 1, "m": 60, "h": 3600}[match[3]]
    return int(match[1]), max(period, 1)


# Overrides of the SCIM service's limits, whose defaults live in `scim/conf.py`: only the
# variables that are set appear here.
_scim_overrides = {
    "default_count": env_int("SCIM_DEFAULT_COUNT", None, minimum=1),
    "max_results": env_int("SCIM_MAX_RESULTS", None, minimum=1),
    "max_operations": env_int("SCIM_MAX_OPERATIONS", None, minimum=1),
    "max_members": env_int("SCIM_MAX_MEMBERS", None, minimum=1),
    "max_filter_length": env_int("SCIM_MAX_FILTER_LENGTH", None, minimum=64),
    "max_filter_depth": env_int("SCIM_MAX_FILTER_DEPTH", None, minimum=2),
    "max_filter_comparisons": env_int("SCIM_MAX_FILTER_COMPARISONS", None, minimum=2),
    "max_body_bytes": env_int("SCIM_MAX_BODY_BYTES", None, minimum=1024),
    "stream_members_above": env_int("SCIM_STREAM_MEMBERS_ABOVE", None, minimum=0),
    "rate_limit": _parse_rate(env_str("SCIM_RATE_LIMIT"), setting="SCIM_RATE_LIMIT"),
    "password_rate_limit": _parse_rate(
        env_str("SCIM_PASSWORD_RATE_LIMIT"), setting="SCIM_PASSWORD_RATE_LIMIT"
    ),
    "max_values": env_int("SCIM_MAX_VALUES", None, minimum=1),
    "list_max_members": env_int("SCIM_LIST_MAX_MEMBERS", None, minimum=1),
    "lock_timeout_ms": env_int("SCIM_LOCK_TIMEOUT_MS", None, minimum=1),
}
SCIM = {key: value for key, value in _scim_overrides.items() if value is not None}


def _cache_from_url(url: str) -> dict:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "locmem":
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "kestra-iam",
        }
    if scheme in ("redis", "rediss"):
        # A Redis that hangs (or a network that drops packets) must not hold requests: every
        # call gives up after CACHE_TIMEOUT_MS and the rate limit fails open (scim.throttling).
        seconds = env_int("CACHE_TIMEOUT_MS", 50, minimum=1) / 1000
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": seconds, "socket_timeout": seconds},
        }
    raise ConfigError(
        f"CACHE_URL scheme {scheme or url!r} is not supported; use locmem:// or redis://host:6379/0"
    )


# Shared state between app servers (the SCIM rate limit): Redis in production.
CACHES = {"default": _cache_from_url(env_str("CACHE_URL", "locmem://"))}

# --- Internationalisation and static files ----------------------------------------------------

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["kestra_iam.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security headers (effective behind TLS) -------------------------------------------------

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
X_FRAME_OPTIONS = "DENY"
# Off by default so that a plain-HTTP local run works; production behind TLS turns them on
# (README "Production"): redirect HTTP to HTTPS, and tell browsers to use HTTPS only.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)

# --- Operations: logs and metrics ------------------------------------------------------------

# plain: text lines; json: one JSON object per line, plus one line per SCIM request.
LOG_FORMAT = env_choice("LOG_FORMAT", ("plain", "json"), "plain")
# off; token: GET /metrics with `Authorization: Bearer $METRICS_TOKEN`; listen: served by
# gunicorn's master process on METRICS_ADDRESS, apart from the public port.
METRICS = env_choice("METRICS", ("off", "token", "listen"), "off")
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS == "token" and (METRICS_TOKEN is None or len(METRICS_TOKEN) < 32):
    raise ConfigError("METRICS=token needs METRICS_TOKEN of at least 32 characters")
METRICS_ADDRESS = env_str("METRICS_ADDRESS", "127.0.0.1:9464")
if METRICS == "listen" and not re.fullmatch(r"[^\s:]+:\d{1,5}", METRICS_ADDRESS):
    raise ConfigError(f"METRICS_ADDRESS must look like 127.0.0.1:9464, got {METRICS_ADDRESS!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "observability.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO").upper()},
    # Django's default config gives "django" a console handler of its own: drop it so records
    # reach the root handler once.
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        # Django logs every 4xx with the path the client typed, which may hold a user name
        # (`/Users/alice@example.com`): the access log or the JSON request line, which show
        # the route, already record those requests.
        "django.request": {"level": "ERROR", "filters": ["without_503"]},
    },
    "filters": {"without_503": {"()": "observability.logs.WithoutServiceUnavailable"}},
}

# How many days of audit trail `manage.py audit prune` keeps when not told (--older-than); the
# shipped timer (deploy/kestra-iam-audit-prune.timer) runs it daily. 0 keeps everything.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 0, minimum=0)

# --- Sign-in with an OpenID provider (signin.conf) ----------------------------------------------
# Off unless OIDC_DISCOVERY_URL and OIDC_CLIENT_ID are set. For Microsoft Entra ID the discovery
# URL is https://login.microsoftonline.com/<directory id>/v2.0/.well-known/openid-configuration.
OIDC = {
    "discovery_url": env_str("OIDC_DISCOVERY_URL", "") or "",
    "client_id": env_str("OIDC_CLIENT_ID", "") or "",
    "client_secret": env_str("OIDC_CLIENT_SECRET", "") or "",
    "scopes": env_str("OIDC_SCOPES", "openid profile email"),
    "provider_name": env_str("OIDC_PROVIDER_NAME", "Microsoft"),
    "match": env_choice("OIDC_MATCH", ("userName", "externalId"), "userName"),
    "user_name_claim": env_str("OIDC_USERNAME_CLAIM", "preferred_username"),
    "external_id_claim": env_str("OIDC_EXTERNAL_ID_CLAIM", "oid"),
}
