"""Running a manage.py command in the test process and reading what it printed."""

import json
from io import StringIO

from django.core.management import call_command


def run(*args) -> str:
    """The command's standard output."""
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def run_json(*args):
    """The command run with `--json`, its output parsed."""
    return json.loads(run(*args, "--json"))
