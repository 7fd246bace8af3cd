"""The project's gunicorn settings for the peer, without the project's hooks (start-up check,
metrics), which read the project's Django settings."""

from kestra_iam.gunicorn_conf import *  # noqa: F403

# Defined by the star import above, which ruff cannot see through.
del on_starting, when_ready, child_exit  # noqa: F821
