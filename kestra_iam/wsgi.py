"""WSGI entry point (gunicorn kestra_iam.wsgi)."""

import os

from kestra_iam.env import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kestra_iam.settings")

with exit_on_config_error():
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
