"""What the admin pages share: their changes land in the audit trail in the same transaction,
their HISTORY button opens that trail, a tenant, once chosen, stays put, and lists show dates
compactly."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.timezone import localtime

from kestra_iam.audit import AuditEntry, AuditWriteFailed, subject_of
from kestra_iam.models import AuditEvent

AUDIT_FAILED = (
    "Nothing was saved: the change could not be recorded in the audit trail. Try again; if it "
    "keeps failing, check the database."
)


def audited_admin_view(view=None, *, failure_url=None):
    """Run an admin view that writes in one transaction with its audit events.

    If an event cannot be stored, the whole change is rolled back and the admin is told so in
    plain words, back on the page (or at `failure_url(self, request, *args)`).
    """

    def decorate(function):
        @functools.wraps(function)
        def wrapper(self, request, *args, **kwargs):
            try:
                with transaction.atomic():
                    return function(self, request, *args, **kwargs)
            except AuditWriteFailed:
                self.message_user(request, AUDIT_FAILED, messages.ERROR)
                url = failure_url(self, request, *args) if failure_url else None
                return HttpResponseRedirect(url or request.get_full_path())

        return wrapper

    return decorate(view) if view is not None else decorate


class AuditedAdminMixin:
    """Every add, change and delete made through these admin pages also lands in the audit
    trail, through the hooks Django's admin already calls for its own history, in the same
    transaction as the change."""

    def audit_tenant_id(self, obj) -> str:
        return getattr(obj, "tenant_id", "") or ""

    def audit_integration_id(self, obj):
        return None

    def audit_trail_filter(self, obj) -> dict[str, str]:
        """The audit trail's list narrowed to this object, for its HISTORY button."""
        return {"q": str(obj.pk)}  # the list's search matches resource ids exactly

    def history_view(self, request, object_id, extra_context=None):
        """HISTORY opens the object's audit trail — its writes from the admin, the commands and
        SCIM alike — instead of Django's change history, which knows only the admin's."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            return super().history_view(request, object_id, extra_context)  # its 404 or 403
        trail = reverse("admin:kestra_iam_auditevent_changelist")
        return HttpResponseRedirect(f"{trail}?{urlencode(self.audit_trail_filter(obj))}")

    def _audit(self, request, obj, verb: str, message="") -> None:
        if isinstance(message, list):
            message = "; ".join(
                f"{kind} {', '.join(value.get('fields', []))}".strip()
                for entry in message
                for kind, value in entry.items()
            )
        AuditEntry(
            action=f"admin.{obj._meta.model_name}.{verb}",
            actor_type=AuditEvent.ActorType.ADMIN,
            actor=request.user.get_username(),
            tenant_id=self.audit_tenant_id(obj),
            integration_id=self.audit_integration_id(obj),
            resource_type=obj._meta.model_name,
            resource_id=str(obj.pk),
            request_id=getattr(request, "request_id", ""),
        ).record(subject=subject_of(obj), detail=str(message or ""))

    def log_event(self, request, obj, verb: str, message: str) -> None:
        """A change with a verb of its own in the trail (`admin.<model>.enable`, `.rotate_token`
        …) so that the trail tells them apart; Django's history keeps it as a change."""
        self._audit(request, obj, verb, message)
        super().log_change(request, obj, message)

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "add", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, "change", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "delete", str(obj))
        return super().log_deletions(request, queryset)

    # Django runs these two in a transaction already; the decorator adds the readable refusal.
    @audited_admin_view
    def changeform_view(self, request, *args, **kwargs):
        return super().changeform_view(request, *args, **kwargs)

    @audited_admin_view
    def delete_view(self, request, *args, **kwargs):
        return super().delete_view(request, *args, **kwargs)

    # Bulk actions (delete selected, enable selected …), which Django does not wrap.
    @audited_admin_view
    def response_action(self, request, queryset):
        return super().response_action(request, queryset)


@admin.display(description="created", ordering="created_at")
def created(obj) -> str:
    """A list column: the creation day, compact, so that lists fit a 1,400 px window (the
    change page has the full time)."""
    return f"{localtime(obj.created_at):%Y-%m-%d}"


class TenantLockedMixin:
    """The tenant is chosen once, at creation; afterwards it is read-only."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("tenant")
        return fields
