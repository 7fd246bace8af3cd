"""ASGI entry point."""

import os

from kestra_iam.env import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kestra_iam.settings")

with exit_on_config_error():
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
