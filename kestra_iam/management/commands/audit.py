"""`manage.py audit prune --older-than DAYS`: keep the audit trail bounded."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import now

from kestra_iam.models import AuditEvent

BATCH = 5000


class Command(BaseCommand):
    help = "Maintain the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{prune}")
        prune = actions.add_parser("prune", help="Delete audit events older than DAYS days.")
        prune.add_argument("--older-than", dest="days", type=int, required=True, metavar="DAYS")

    def handle(self, *args, action: str, days: int, **options) -> None:
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        cutoff = now() - timedelta(days=days)
        deleted = 0
        # In batches, so pruning a long trail never holds one huge transaction.
        while True:
            ids = list(
                AuditEvent.objects.filter(occurred_at__lt=cutoff).values_list("pk", flat=True)[
                    :BATCH
                ]
            )
            if not ids:
                break
            deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]
        self.stdout.write(f"Deleted {deleted} audit event(s) older than {days} day(s).")
