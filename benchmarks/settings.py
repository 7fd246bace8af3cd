"""Settings for `make bench`: the production settings plus two measuring aids.

- an extra, bare DRF endpoint that only authenticates the token (the baseline of target 2);
- a middleware that reports each request's SQL query count in `X-Query-Count`.
"""

from kestra_iam.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
MIDDLEWARE = ["benchmarks.middleware.QueryCountMiddleware", *MIDDLEWARE]  # noqa: F405
