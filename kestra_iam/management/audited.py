"""Management commands whose writes commit together with their audit event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import transaction

from kestra_iam.audit import AuditEntry, AuditWriteFailed, command_actor, subject_of
from kestra_iam.models import AuditEvent

NOT_RECORDED = (
    "Nothing was changed: the change could not be recorded in the audit trail. Try again; if it "
    "keeps failing, check the database."
)


@dataclass(frozen=True)
class Deleted:
    """What a deletion changed, for its audit event: the row is gone, its id and name are not."""

    pk: object
    tenant_id: str
    name: str

    def __str__(self) -> str:
        return self.name


class AuditedCommand(BaseCommand):
    """A command whose write and audit event commit in one transaction.

    What the command prints during the write (a new Secret Token, say) is held back until the
    transaction commits, so nothing is shown for a change that did not happen.
    """

    def run_audited(
        self,
        write: Callable[[], Any],
        *,
        action: str,
        resource_type: str,
        tenant_id: Callable[[Any], str],
        integration_id: Callable[[Any], object] = lambda changed: None,
    ) -> None:
        """Run `write`, which returns what it changed — something with a `pk` — or None if it
        changed nothing."""
        held = StringIO()
        printed, self.stdout = self.stdout, OutputWrapper(held)
        try:
            with transaction.atomic():
                changed = write()
                if changed is not None:
                    AuditEntry(
                        action=action,
                        actor_type=AuditEvent.ActorType.COMMAND,
                        actor=command_actor(),
                        tenant_id=tenant_id(changed),
                        integration_id=integration_id(changed),
                        resource_type=resource_type,
                        resource_id=str(changed.pk),
                    ).record(subject=subject_of(changed))
        except AuditWriteFailed:
            raise CommandError(NOT_RECORDED) from None
        finally:
            self.stdout = printed
        self.stdout.write(held.getvalue(), ending="")
