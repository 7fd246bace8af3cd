"""Settings for the test suite: the real settings plus test speed-ups.

The database is whatever DATABASE_URL says (SQLite by default, PostgreSQL in CI).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")

from kestra_iam.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
# Static files come straight from the apps' folders (no collectstatic step before the tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
