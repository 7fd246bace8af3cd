"""Log records as one JSON object per line (LOG_FORMAT=json), for log pipelines that index
fields instead of parsing text, and Django's request log without the 503s the app means.

Every record carries time, level, logger and message; a record logged with
`extra={"fields": {...}}` (the per-request line) adds its fields at the top level.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class WithoutServiceUnavailable(logging.Filter):
    """Drops Django's "Service Unavailable: <path>" line. The app answers 503 on purpose — a
    database or a lock it cannot wait for, always with Retry-After — and logs the cause once
    (`observability.availability`); one ERROR per request of a 20 s failover was hundreds of
    lines. Each request still has its access-log and request-log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 503
