"""`manage.py audit export|prune`: the audit trail for a SIEM, and kept bounded.

    audit export [--since WHEN] [--until WHEN] [--tenant T] [--integration ID]
                 [--format jsonl|csv] [--output FILE]
    audit prune  [--older-than DAYS] [--dry-run]

WHEN is an ISO date or time (2026-12-01, 2026-12-01T10:42:00Z) or an age (30m, 24h, 7d).
Pruning deletes in batches of `BATCH` events, each its own short transaction, so a long trail is
pruned while SCIM writes go on; without --older-than it keeps `AUDIT_RETENTION_DAYS`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware, now

from kestra_iam.audit_export import FORMATS, lines, records
from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import AuditEvent

BATCH = 5000
AGE = re.compile(r"^(\d+)([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def moment(value: str, option: str) -> datetime:
    """An ISO date or datetime, or an age before now; a CommandError naming the option."""
    value = value.strip()
    age = AGE.match(value)
    if age:
        try:
            return now() - timedelta(**{UNITS[age.group(2)]: int(age.group(1))})
        except (OverflowError, ValueError):  # further back than dates go
            raise CommandError(f"{option}: {value!r} is further back than any date.") from None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(
            f"{option}: {value!r} is neither an ISO date or time (2026-12-01, "
            "2026-12-01T10:42:00Z) nor an age (30m, 24h, 7d)."
        )
    return make_aware(parsed, UTC) if is_naive(parsed) else parsed


def prune(cutoff: datetime, *, batch: int | None = None) -> int:
    """Delete the events before `cutoff`, oldest first, a batch per transaction."""
    batch = batch or BATCH
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                AuditEvent.objects.filter(occurred_at__lt=cutoff)
                .order_by("occurred_at", "id")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return deleted
            # Nothing refers to an event, so Django deletes them in one statement.
            deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]


class Command(BaseCommand):
    help = "Export the audit trail (CSV or JSON Lines) or delete old events."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{export,prune}")
        export = actions.add_parser("export", help="Write audit events as JSON Lines or CSV.")
        export.add_argument("--since", help="From this time or age (2026-12-01, 24h, 7d).")
        export.add_argument("--until", help="Before this time or age.")
        export.add_argument("--tenant", help="Only this tenant's events.")
        export.add_argument("--integration", help="Only this integration's events (its id).")
        export.add_argument("--format", choices=sorted(FORMATS), default="jsonl")
        export.add_argument("--output", help="Write to this file instead of standard output.")
        prune_parser = actions.add_parser("prune", help="Delete audit events older than DAYS.")
        prune_parser.add_argument(
            "--older-than",
            dest="days",
            type=int,
            metavar="DAYS",
            help="Keep this many days (default: the AUDIT_RETENTION_DAYS setting).",
        )
        prune_parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"do_{action}")(options)

    def do_export(self, options: dict) -> None:
        events = AuditEvent.objects.all()
        if options["since"]:
            events = events.filter(occurred_at__gte=moment(options["since"], "--since"))
        if options["until"]:
            events = events.filter(occurred_at__lt=moment(options["until"], "--until"))
        if options["tenant"]:
            events = events.filter(tenant_id=options["tenant"])
        if options["integration"]:
            integration = parse_uuid(options["integration"])
            if integration is None:
                raise CommandError(f"--integration: {options['integration']!r} is not an id.")
            events = events.filter(integration_id=integration)
        output = options["output"]
        if not output:
            self._write(events, options["format"], lambda line: self.stdout.write(line, ending=""))
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as stream:
                exported = self._write(events, options["format"], stream.write)
        except OSError as exc:
            raise CommandError(f"--output: cannot write {output!r}: {exc.strerror}.") from None
        self.stderr.write(f"Exported {exported} audit event(s) to {output}.")

    @staticmethod
    def _write(events, format: str, write) -> int:
        """Write the events' lines; returns how many events they were."""
        exported = 0

        def counted(rows):
            nonlocal exported
            for row in rows:
                exported += 1
                yield row

        for line in lines(counted(records(events)), format):
            write(line)
        return exported

    def do_prune(self, options: dict) -> None:
        days = options["days"] if options["days"] is not None else settings.AUDIT_RETENTION_DAYS
        if options["days"] is None and not days:
            raise CommandError(
                "--older-than: give the number of days to keep (AUDIT_RETENTION_DAYS is 0, "
                "which keeps everything)."
            )
        if days < 1:
            raise CommandError("--older-than: must be at least 1 day.")
        try:
            cutoff = now() - timedelta(days=days)
        except (OverflowError, ValueError):
            raise CommandError(
                f"--older-than: {days} days is further back than any date."
            ) from None
        if options["dry_run"]:
            count = AuditEvent.objects.filter(occurred_at__lt=cutoff).count()
            self.stdout.write(f"Would delete {count} audit event(s) older than {days} day(s).")
            return
        deleted = prune(cutoff)
        self.stdout.write(f"Deleted {deleted} audit event(s) older than {days} day(s).")
