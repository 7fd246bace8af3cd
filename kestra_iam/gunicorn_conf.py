"""gunicorn settings for production: `gunicorn -c kestra_iam/gunicorn_conf.py kestra_iam.wsgi`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import sys

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
backlog = 2048
accesslog = "-"
# %(U)s is the path without the query string: SCIM filters carry userNames and e-mail
# addresses (RFC 7644 §7.5.2), which do not belong in access logs.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


def on_starting(server) -> None:
    """Refuse to start several workers that would each count the rate limit on their own."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kestra_iam.settings")
    import django

    from kestra_iam.env import exit_on_config_error

    with exit_on_config_error():
        django.setup()
    from scim.throttling import process_local_counter_problem

    problem = process_local_counter_problem(workers=server.cfg.workers)
    if problem:
        print(f"Configuration error: {problem}", file=sys.stderr)
        raise SystemExit(2)
