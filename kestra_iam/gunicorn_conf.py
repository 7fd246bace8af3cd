"""gunicorn settings for production: `gunicorn -c kestra_iam/gunicorn_conf.py kestra_iam.wsgi`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM, requests in progress get this long to finish before workers are killed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
backlog = 2048
# %(U)s is the path without the query string: SCIM filters carry userNames and e-mail
# addresses (RFC 7644 §7.5.2), which do not belong in access logs.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'
accesslog = "-"

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    # gunicorn's own lines (start, worker exits, errors) in the app's JSON. No access log: the
    # app writes one JSON line per SCIM request, with tenant, integration and query count.
    accesslog = None
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "formatters": {"json": {"()": "observability.logs.JsonFormatter"}},
    }


def on_starting(server) -> None:
    """Load the settings once in the master, before any worker exists: refuse a configuration
    that cannot work, and prepare the shared metrics directory."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kestra_iam.settings")
    import django
    from django.conf import settings

    from kestra_iam.env import exit_on_config_error

    with exit_on_config_error():
        # Reading a setting loads the settings module only; django.setup() then imports the
        # apps, and prometheus_client with them, which must find the directory already set.
        if settings.METRICS != "off":
            _prepare_metrics_directory()
        django.setup()
    from scim.throttling import process_local_counter_problem

    problem = process_local_counter_problem(workers=server.cfg.workers)
    if problem:
        print(f"Configuration error: {problem}", file=sys.stderr)
        raise SystemExit(2)


def _prepare_metrics_directory() -> None:
    """Workers write their metrics to files in one directory, which /metrics adds up. It must
    be set before prometheus_client is first imported, and start empty: values of a previous
    run would be counted again."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="kestra-iam-metrics-")


def when_ready(server) -> None:
    """METRICS=listen: the master serves every worker's metrics on METRICS_ADDRESS."""
    from django.conf import settings

    if settings.METRICS != "listen":
        return
    from prometheus_client import start_http_server

    from observability.metrics import registry

    host, _, port = settings.METRICS_ADDRESS.rpartition(":")
    start_http_server(int(port), addr=host, registry=registry())
    server.log.info("Metrics served on http://%s/metrics", settings.METRICS_ADDRESS)


def child_exit(server, worker) -> None:
    """A worker's in-flight gauge leaves with it; its counters stay in the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
