"""The CPU time request observation adds to one request, measured in a process set up as a
gunicorn worker is (prometheus-client's multiprocess values in a directory): the middleware
around a view that does nothing else, against the bare view.

    python -m benchmarks.observation_cost    # prints microseconds per request, as JSON
"""

from __future__ import annotations

import json
import os
import tempfile
import timeit

ROUNDS = 20_000


def measure() -> dict:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bench-metrics-"))
    os.environ.update(METRICS="token", METRICS_TOKEN="bench-" + "m" * 40)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kestra_iam.settings")
    import django

    django.setup()
    from django.http import HttpResponse
    from django.test import RequestFactory

    from observability.requests import RequestObservationMiddleware, observe

    def view(request):
        observe(request, route="Users/{user_id}", resource="Users", tenant="t", integration="i")
        return HttpResponse(b"{}")

    observed = RequestObservationMiddleware(view)
    request = RequestFactory().get("/api/v1/t/integrations/i/scim/v2/Users/x")
    observed(request)  # the labelled series exist from here on, as after a worker's first request
    bare = min(timeit.repeat(lambda: view(request), number=ROUNDS, repeat=5)) / ROUNDS
    full = min(timeit.repeat(lambda: observed(request), number=ROUNDS, repeat=5)) / ROUNDS
    return {"observation µs per request": round((full - bare) * 1e6, 1)}


if __name__ == "__main__":
    print(json.dumps(measure()))
