"""SCIM writes of groups: create, replace, patch, delete — members as SQL deltas.

Members change by deltas (insert the new memberships, delete the removed ones), never by
rewriting the whole group, under a row lock on the group so concurrent PATCHes of one group
serialise instead of losing updates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from kestra_iam.audit import MAX_NAMES, AuditEntry, Changes
from kestra_iam.db.memberships import memberships_delete, memberships_insert
from kestra_iam.db.transactions import retry_once_on_conflict
from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import AuditEvent, Group, Tenant, TenantAccess
from kestra_iam.text import case_insensitive_key
from provisioning.models import ProvisioningIntegration
from scim import groups as group_resource
from scim import lookups
from scim.conditional import check_version
from scim.exceptions import InvalidValue, NotFound, Uniqueness, refused_as_uniqueness
from scim.operations import Operation
from scim.patch import MemberChange, PatchApplier, members_added
from scim.schema import GROUP_RESOURCE
from scim.services.locking import locked_row, write_transaction
from scim.services.versions import save_new_version, save_new_version_recorded

GROUP_EXISTS = "A group with this displayName already exists in this tenant."


def _locked_group(tenant: Tenant, group_id: str) -> Group:
    pk = parse_uuid(group_id)
    group = (
        locked_row(
            lambda nowait: lookups.locked_group(tenant.pk, pk, nowait=nowait), key=("group", pk)
        )
        if pk
        else None
    )
    if group is None:
        raise NotFound()
    return group


@dataclass(frozen=True)
class Member:
    """A member id of a request resolved to the user's access to this tenant."""

    access_id: int
    user_name: str


def _access_ids(tenant: Tenant, member_ids: Iterable[str], *, strict: bool) -> dict[str, Member]:
    """Map member (user) ids to their accesses to this tenant.

    With `strict`, an id that is not a user of this tenant is a 400 naming it; otherwise it is
    skipped (removing someone who is not a member changes nothing).
    """
    parsed: dict[str, uuid.UUID] = {}
    invalid = []
    for member_id in dict.fromkeys(member_ids):
        pk = parse_uuid(member_id)
        if pk is None:
            invalid.append(member_id)
        else:
            parsed[member_id] = pk
    found = (
        {
            user_id: Member(access_id, user_name)
            for user_id, access_id, user_name in TenantAccess.objects.for_tenant(tenant)
            .filter(user_id__in=list(parsed.values()))
            .order_by()
            .values_list("user_id", "id", "user__user_name")
        }
        if parsed
        else {}
    )
    result = {member_id: found[pk] for member_id, pk in parsed.items() if pk in found}
    if strict:
        missing = invalid + [member_id for member_id, pk in parsed.items() if pk not in found]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise InvalidValue(f"Not users of this tenant: {shown}{more}. No change was made.")
    return result


def _apply_member_changes(
    tenant: Tenant,
    group: Group,
    changes: list[MemberChange],
    known: dict[str, Member] | None = None,
    story: Changes | None = None,
) -> bool:
    """Apply membership changes in order as SQL deltas; returns whether anything changed, and
    tells `story` who was added and removed.

    `known` maps member ids to accesses resolved before the group was locked (see
    `_update_group`); the others are resolved here.
    """
    if not changes:
        return False
    known = known or {}
    to_add = [i for c in changes if c.kind in ("add", "replace") for i in c.ids if i not in known]
    to_remove = [i for c in changes if c.kind == "remove" for i in c.ids if i not in known]
    members = dict(known)
    members.update(_access_ids(tenant, to_add, strict=True))
    members.update(_access_ids(tenant, to_remove, strict=False))
    added: list[int] = []
    removed: list[int] = []
    try:
        for change in changes:
            access_ids = {members[i].access_id for i in change.ids if i in members}
            if change.kind == "remove":
                removed += memberships_delete(group, access_ids)
            elif change.kind == "replace":
                removed += memberships_delete(group, access_ids, keep=True)
                added += memberships_insert(group, access_ids)
            else:
                added += memberships_insert(group, access_ids)
    except IntegrityError:
        # A DELETE /Users removed one of these members' access after we resolved it.
        raise InvalidValue(
            "A member was removed from this tenant while the request ran; no change was made."
        ) from None
    if story is not None and (added or removed):
        story.members(added=_names(added, members), removed=_names(removed, members))
    return bool(added or removed)


def _names(access_ids: list[int], members: dict[str, Member]) -> list[str]:
    """The userNames of these accesses, from the request's members; the few others (members a
    replacement removed) read in one query, for as many names as the trail keeps."""
    known = {member.access_id: member.user_name for member in members.values()}
    ordered = list(dict.fromkeys(access_ids))  # an access removed then added again: once
    unknown = [pk for pk in ordered[:MAX_NAMES] if pk not in known]
    if unknown:
        known.update(
            TenantAccess.objects.filter(pk__in=unknown).values_list("pk", "user__user_name")
        )
    return [known.get(pk, "") for pk in ordered]


def _members_from_document(document: dict) -> list[str]:
    return [member["value"] for member in document.get("members", ()) if member.get("value")]


@retry_once_on_conflict
def scim_group_create(
    *,
    tenant: Tenant,
    integration: ProvisioningIntegration | None,
    document: dict,
    audit: AuditEntry,
) -> Group:
    """POST /Groups: a group of this tenant, with the members the body lists (if any)."""
    # Not write_transaction(): a new group locks no existing row (its members' accesses
    # only get key-share locks), and POST is the hot path of an initial sync.
    with refused_as_uniqueness(GROUP_EXISTS), transaction.atomic():
        if (
            Group.objects.for_tenant(tenant)
            .filter(display_name_key=case_insensitive_key(document["displayName"]))
            .exists()
        ):
            raise Uniqueness(GROUP_EXISTS)
        group = Group.objects.create(
            tenant=tenant,
            display_name=document["displayName"],
            external_id=document.get("externalId", ""),
            provisioned_by_id=integration.pk if integration else None,
        )
        members = _members_from_document(document)
        story = Changes()
        if members:
            _apply_member_changes(tenant, group, [MemberChange("add", members)], story=story)
        audit.record(
            resource_id=group.pk,
            subject=group.display_name,
            kind=AuditEvent.Kind.CREATED,
            changes=story,
        )
    return group


@retry_once_on_conflict
def scim_group_replace(
    *, tenant: Tenant, group_id: str, document: dict, if_match: str | None, audit: AuditEntry
) -> Group:
    """PUT /Groups/{id}: name, externalId and the whole member list as given."""
    members = _members_from_document(document)
    return _update_group(
        tenant=tenant,
        group_id=group_id,
        if_match=if_match,
        build=lambda group: (document, [MemberChange("replace", members)]),
        audit=audit,
        members_hint=members,
    )


@retry_once_on_conflict
def scim_group_patch(
    *,
    tenant: Tenant,
    group_id: str,
    operations: list[Operation],
    if_match: str | None,
    audit: AuditEntry,
) -> Group:
    """PATCH /Groups/{id}: attributes on the row, members as deltas, all or nothing."""

    def build(group: Group):
        applier = PatchApplier.configured(
            GROUP_RESOURCE,
            group_resource.CLEANER,
            resource_id=str(group.pk),
            member_attribute="members",
        )
        current = {"displayName": group.display_name}
        if group.external_id:
            current["externalId"] = group.external_id
        result = applier.apply(current, operations)
        return result.document, result.member_changes

    return _update_group(
        tenant=tenant,
        group_id=group_id,
        if_match=if_match,
        build=build,
        audit=audit,
        members_hint=members_added(operations),
    )


def _update_group(
    *,
    tenant: Tenant,
    group_id: str,
    if_match: str | None,
    build,
    audit: AuditEntry,
    members_hint: list[str] = (),
) -> Group:
    """Lock the group, apply `build(group)` → (document, member changes), bump its version.

    The accesses of `members_hint` (the members the request names) are resolved before the
    lock: concurrent PATCHes of one group queue on its row, so every round trip left out of the
    locked section is one every queued request stops waiting for. Resolving early is safe: an
    access removed meanwhile makes the membership insert fail (a 400, nothing written).
    """
    known = _access_ids(tenant, members_hint, strict=False) if members_hint else {}
    with refused_as_uniqueness(GROUP_EXISTS), write_transaction():
        group = _locked_group(tenant, group_id)
        check_version(group_resource.group_version(group), if_match)
        document, member_changes = build(group)
        display_name = document["displayName"]
        external_id = document.get("externalId", "")
        story = Changes()
        story.attribute("displayName", group.display_name, display_name)
        story.attribute("externalId", group.external_id, external_id)
        changed_fields = {}
        if display_name != group.display_name:
            if (
                Group.objects.for_tenant(tenant)
                .filter(display_name_key=case_insensitive_key(display_name))
                .exclude(pk=group.pk)
                .exists()
            ):
                raise Uniqueness(GROUP_EXISTS)
            changed_fields.update(
                display_name=display_name, display_name_key=case_insensitive_key(display_name)
            )
        if external_id != group.external_id:
            changed_fields["external_id"] = external_id
        members_changed = _apply_member_changes(tenant, group, member_changes, known, story)
        story_of_write = {
            "subject": display_name,
            "kind": AuditEvent.Kind.UPDATED if changed_fields else AuditEvent.Kind.MEMBERS,
            "changes": story,
        }
        if members_changed and not changed_fields:
            # Entra's member PATCH: the new version and the audit event in one round trip.
            save_new_version_recorded(group, audit, **story_of_write)
        else:
            if changed_fields or members_changed:
                save_new_version(group, changed_fields)
            if not story:
                story_of_write["kind"] = AuditEvent.Kind.UPDATED
            audit.record(resource_id=group.pk, **story_of_write)
    return group


@retry_once_on_conflict
def scim_group_delete(
    *, tenant: Tenant, group_id: str, if_match: str | None, audit: AuditEntry
) -> None:
    """DELETE /Groups/{id}: the group, its memberships and the bindings given to it."""
    with write_transaction():
        group = _locked_group(tenant, group_id)
        check_version(group_resource.group_version(group), if_match)
        group.delete()
        audit.record(resource_id=group_id, subject=group.display_name, kind=AuditEvent.Kind.DELETED)
