"""What a SCIM user write changed, told to the audit trail (`kestra_iam.audit.Changes`): each
attribute old → new, multi-valued attributes by their values, `active` as disabled or enabled.

Computed from what the write already read and is about to store, so the trail costs the write
no query (but the old manager's id, read only when the manager changes).
"""

from __future__ import annotations

from kestra_iam.audit import Changes
from kestra_iam.models import AuditEvent, TenantAccess, UserValue
from scim import users as user_resource

# The SCIM attribute each profile column holds, for the trail.
ATTRIBUTE_OF_COLUMN = {
    **{column: attribute for attribute, column in user_resource.CORE_COLUMNS.items()},
    **{column: f"name.{sub}" for sub, column in user_resource.NAME_COLUMNS.items()},
    **{column: attribute for attribute, column in user_resource.ENTERPRISE_COLUMNS.items()},
    "external_id": "externalId",
    "active": "active",
}


def describe_updates(access: TenantAccess, updates: dict, document: dict, changes: Changes) -> None:
    for column, new in updates.items():
        if column == "manager_id":
            # By the manager's user id, as SCIM names it; read only when the manager changed.
            old = TenantAccess.objects.filter(pk=access.manager_id).values_list("user_id")
            old_id = str(next(iter(old), ("",))[0]) if access.manager_id else ""
            changes.attribute("manager", old_id, user_resource.manager_id(document) or "")
        else:
            changes.attribute(ATTRIBUTE_OF_COLUMN[column], getattr(access, column), new)


def describe_values(current: list[UserValue], new: list[UserValue], changes: Changes) -> None:
    """Multi-valued attributes (emails, phoneNumbers …) old → new, as their values read."""
    for attribute in user_resource.MULTI_VALUED:
        before = [row for row in current if row.attribute == attribute]
        after = [row for row in new if row.attribute == attribute]
        if list(map(signature, before)) == list(map(signature, after)):
            continue
        shown_before = ", ".join(map(_shown, before))
        shown_after = ", ".join(map(_shown, after))
        if shown_before == shown_after:  # only a display or an extension changed
            shown_after += " (details changed)"
        changes.attribute(attribute, shown_before, shown_after)


def _shown(row: UserValue) -> str:
    return row.value + (f" ({row.type})" if row.type else "") + (" primary" if row.primary else "")


def kind_of_update(changes: Changes) -> str:
    """Disabled and enabled are what an identity provider does with `active`; the trail says
    so rather than "updated"."""
    active = changes.changed("active")
    if active is not None and active[1] is False:
        return AuditEvent.Kind.DISABLED
    if active is not None and active[0] is False and active[1] is not False:
        return AuditEvent.Kind.ENABLED
    return AuditEvent.Kind.UPDATED


def signature(row: UserValue) -> tuple:
    """What makes two value rows the same row."""
    return (row.attribute, row.position, row.value, row.type, row.primary, row.display, row.extra)
