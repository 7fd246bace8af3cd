#!/usr/bin/env python
"""Django's command-line utility for Kestra IAM."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kestra_iam.settings")
    from kestra_iam import local_env

    local_env.load()  # var/local.env, written by `make run`, unless this is a deployment
    from django.conf import settings
    from django.core.management import execute_from_command_line

    from kestra_iam.env import exit_on_config_error

    with exit_on_config_error():
        settings.INSTALLED_APPS  # noqa: B018 - load settings now: a bad value is one line, not a traceback
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
