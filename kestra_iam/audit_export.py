"""The audit trail as files: CSV for a spreadsheet, JSON Lines for a SIEM.

The admin's download (what the list's filters show) and `manage.py audit export` write the same
records, streamed in batches in the order events happened, so that a million events never sit in
memory and a SIEM can resume from the last `occurred_at` it read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils.timezone import now

from kestra_iam.audit_story import actors_of, sentence
from kestra_iam.models import AuditEvent

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
COLUMNS = (
    "occurred_at",
    "tenant",
    "integration",
    "actor_type",
    "actor",
    "actor_name",
    "action",
    "kind",
    "resource_type",
    "resource_id",
    "subject",
    "outcome",
    "request_id",
    "sentence",
    "changes",
    "detail",
)
BATCH = 2000
# A spreadsheet runs a cell that starts with one of these as a formula; a userName is the
# client's text (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def records(events: QuerySet[AuditEvent]) -> Iterator[dict]:
    """Each event as a flat record, oldest first, its actor named as the trail names it."""
    batch: list[AuditEvent] = []
    for event in events.order_by("occurred_at", "id").iterator(chunk_size=BATCH):
        batch.append(event)
        if len(batch) == BATCH:
            yield from _records(batch)
            batch = []
    yield from _records(batch)


def _records(batch: list[AuditEvent]) -> Iterator[dict]:
    if not batch:
        return
    actors = actors_of(batch)
    for event in batch:
        actor = actors.get(event.pk)
        name = actor.name if actor else event.actor
        yield {
            "occurred_at": event.occurred_at.isoformat(),
            "tenant": event.tenant_id,
            "integration": str(event.integration_id or ""),
            "actor_type": event.actor_type,
            "actor": event.actor,
            "actor_name": name,
            "action": event.action,
            "kind": event.kind,
            "resource_type": event.resource_type,
            "resource_id": event.resource_id,
            "subject": event.subject,
            "outcome": event.outcome,
            "request_id": event.request_id,
            "sentence": sentence(event, name),
            "changes": event.changes or {},
            "detail": event.detail,
        }


def lines(rows: Iterable[dict], format: str) -> Iterator[str]:
    """The records as lines of `format` ("csv", with a header, or "jsonl")."""
    if format == "jsonl":
        for row in rows:
            yield json.dumps(row, ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in COLUMNS])
        if buffer.tell() > 65536:  # a chunk of the stream
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_response(events: QuerySet[AuditEvent], format: str):
    """A download of these events; a readable 400 for a format there is none of."""
    if format not in FORMATS:
        return HttpResponseBadRequest(
            f"Unknown format {format!r}: choose csv or jsonl.", content_type="text/plain"
        )
    response = StreamingHttpResponse(lines(records(events), format), content_type=FORMATS[format])
    name = f"audit-trail-{now():%Y%m%d-%H%M%S}.{format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
