"""Settings of the peer (see `benchmarks/peer/__init__.py`): production-like, DEBUG off."""

import os

import dj_database_url

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "peer-" + "x" * 50)
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_scim",
    "benchmarks.peer",
]
MIDDLEWARE = [
    "benchmarks.middleware.QueryCountMiddleware",
    "django.middleware.common.CommonMiddleware",
    "benchmarks.peer.middleware.BearerTokenMiddleware",
    "django_scim.middleware.SCIMAuthCheckMiddleware",
]
ROOT_URLCONF = "benchmarks.peer.urls"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peer_bench"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
AUTH_USER_MODEL = "peer.PeerUser"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
USE_TZ = True
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "127.0.0.1",
    "AUTHENTICATION_SCHEMES": [
        {"type": "oauthbearertoken", "name": "Bearer", "description": "Bearer token"}
    ],
    "GROUP_MODEL": "benchmarks.peer.models.PeerGroup",
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
