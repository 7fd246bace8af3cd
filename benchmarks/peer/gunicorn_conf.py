"""The project's gunicorn settings for the peer, without the project's start-up check (which reads
the project's Django settings)."""

from kestra_iam.gunicorn_conf import *  # noqa: F403

del on_starting  # noqa: F821
