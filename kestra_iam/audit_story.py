"""The audit trail told in sentences: "Entra ID - Contoso disabled ada@contoso.com in main".

One place turns an event into what a person reads — in the admin (with links) and in exports
(as text) — so that the two never tell different stories. A sentence is a list of parts; a part
that names something (the actor, the subject, the tenant) says which, and the admin makes it a
link.

Who acted is named by the apps that know them (`ACTOR_NAMERS`): this one names admin users and
service accounts; provisioning names a SCIM write by its integration, even a deleted one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from kestra_iam.models import AuditEvent, ServiceAccount, User
from kestra_iam.text import case_insensitive_key

Kind = AuditEvent.Kind

# The resource types events carry (SCIM's and models' names) as a person says them.
NOUNS = {
    "USERS": "user",
    "GROUPS": "group",
    "user": "user",
    "group": "group",
    "tenantaccess": "access",
    "groupmembership": "membership",
    "role": "role",
    "binding": "binding",
    "serviceaccount": "service account",
    "service_account": "service account",
    "apitoken": "API token",
    "tenant": "tenant",
    "provisioningintegration": "integration",
    "integration": "integration",
    "profile": "profile",
}
VERBS = {
    Kind.CREATED: "created",
    Kind.UPDATED: "updated",
    Kind.DISABLED: "disabled",
    Kind.ENABLED: "enabled",
    Kind.DELETED: "deleted",
    Kind.REPAIRED: "repaired",
}
TOKEN_VERBS = {
    "revoke_tokens": "revoked the Secret Tokens of",
    "issue_token": "issued an API token for",
}
# What a refused request was trying to do, from its action's verb.
ATTEMPTS = {"create": "create", "replace": "replace", "update": "update", "delete": "delete"}


@dataclass(frozen=True)
class Actor:
    """Who acted, as the trail names them, and their admin page if they still have one."""

    name: str
    url: str | None = None


def people(events: list[AuditEvent]) -> dict[int, Actor]:
    """Admin users and service accounts, linked to their page (a query per kind of actor)."""
    admins = {e.actor for e in events if e.actor_type == AuditEvent.ActorType.ADMIN}
    # By the canonical key, which is indexed (a userName is unique in any case).
    keys = [case_insensitive_key(name) for name in admins]
    user_pks = (
        dict(User.objects.filter(user_name_key__in=keys).values_list("user_name", "pk"))
        if admins
        else {}
    )
    accounts = {
        (e.tenant_id, e.actor)
        for e in events
        if e.actor_type == AuditEvent.ActorType.SERVICE_ACCOUNT
    }
    match = Q()
    for tenant_id, name in accounts:
        match |= Q(tenant_id=tenant_id, name=name)
    account_pks = (
        {
            (tenant_id, name): pk
            for pk, tenant_id, name in ServiceAccount.objects.filter(match).values_list(
                "pk", "tenant_id", "name"
            )
        }
        if accounts
        else {}
    )
    actors = {}
    for event in events:
        url = None
        if event.actor_type == AuditEvent.ActorType.ADMIN and event.actor in user_pks:
            url = reverse("admin:kestra_iam_user_change", args=[user_pks[event.actor]])
        account = account_pks.get((event.tenant_id, event.actor))
        if event.actor_type == AuditEvent.ActorType.SERVICE_ACCOUNT and account:
            url = reverse("admin:kestra_iam_serviceaccount_change", args=[account])
        actors[event.pk] = Actor(event.actor, url)
    return actors


# Callables (events) → {event pk: Actor}; a later one's answer wins.
ACTOR_NAMERS: list[Callable[[list[AuditEvent]], dict[int, Actor]]] = [people]


def actors_of(events: list[AuditEvent]) -> dict[int, Actor]:
    actors: dict[int, Actor] = {}
    for namer in ACTOR_NAMERS:
        actors.update(namer(events))
    return actors


@dataclass(frozen=True)
class Part:
    """A piece of a sentence; `names` says what it names ("actor", "subject", "tenant"), if
    anything, for a link."""

    text: str
    names: str = ""


def story(event: AuditEvent, actor: str) -> list[Part]:
    """The event as a sentence; `actor` is how the actor is called (an integration's name
    rather than its service account's)."""
    who = Part(actor, "actor")
    if event.action.startswith("signin."):
        return _sign_in_story(event, who)
    noun = NOUNS.get(event.resource_type, event.resource_type.lower())
    subject = Part(event.subject or _short(event.resource_id) or noun, "subject")
    tenant = [Part(" in "), Part(event.tenant_id, "tenant")] if event.tenant_id else []
    kind = event.kind
    if kind == Kind.REFUSED or event.outcome >= 400:
        verb = event.action.rsplit(".", 1)[-1]
        attempt = ATTEMPTS.get(verb, verb.replace("_", " "))
        named = [Part(" "), subject] if event.resource_id or event.subject else []
        how = "failed" if event.outcome >= 500 else "was refused"  # the server's, or the request's
        refused = Part(f" {how} ({event.outcome}) trying to {attempt} {noun}")
        return [who, refused, *named, *tenant]
    if kind == Kind.LINKED:
        into = [Part(" into "), Part(event.tenant_id, "tenant")] if event.tenant_id else []
        return [who, Part(" linked the existing user "), subject, *into]
    if kind == Kind.ACCESS_REMOVED:
        to = [Part(" to "), Part(event.tenant_id, "tenant")] if event.tenant_id else []
        return [who, Part(" removed "), subject, Part("'s access"), *to]
    if kind == Kind.MEMBERS:
        return [who, Part(f" {_members_phrase(event.changes)} "), subject, *tenant]
    if kind == Kind.TOKEN:
        verb = event.action.rsplit(".", 1)[-1].replace("-", "_")
        what = TOKEN_VERBS.get(verb, "rotated the Secret Token of")
        return [who, Part(f" {what} {noun} "), subject, *tenant]
    verb = VERBS.get(kind) or event.action.rsplit(".", 1)[-1].replace("_", " ")
    return [who, Part(f" {verb} {noun} "), subject, *tenant]


def _sign_in_story(event: AuditEvent, who: Part) -> list[Part]:
    """A sign-in to the admin (`signin.audit`): done, refused and why, or a session ended."""
    tenant = [Part(" ("), Part(event.tenant_id, "tenant"), Part(")")] if event.tenant_id else []
    if event.action.endswith(".session_ended"):
        return [who, Part("'s admin session ended: nothing left to administer")]
    if event.outcome >= 400:
        return [who, Part(" was refused signing in: "), Part(event.detail), *tenant]
    return [who, Part(f" {event.detail or 'signed in'}"), *tenant]


def sentence(event: AuditEvent, actor: str) -> str:
    return "".join(part.text for part in story(event, actor))


def _members_phrase(changes: dict) -> str:
    members = changes.get("members") or {}
    added, removed = members.get("added_count", 0), members.get("removed_count", 0)
    if added and not removed:
        return f"added {_names(members['added'], added)} to"
    if removed and not added:
        return f"removed {_names(members['removed'], removed)} from"
    return f"added {added} and removed {removed} member(s) of"


def _names(names: list[str], count: int) -> str:
    if count == 1 and names:
        return names[0]
    if count <= 3 and len(names) == count:
        return ", ".join(names)
    return f"{count} members"


def change_lines(changes: dict) -> list[str]:
    """What changed, a line per attribute (old → new; a secret only as set) and for members."""
    lines = []
    for name, value in (changes.get("attributes") or {}).items():
        if isinstance(value, list):
            lines.append(f"{name}: {_shown(value[0])} → {_shown(value[1])}")
        else:  # a secret: "set"
            lines.append(f"{name}: {value}")
    if changes.get("more_attributes"):
        lines.append(f"and {changes['more_attributes']} more attribute(s)")
    members = changes.get("members") or {}
    for side, sign in (("added", "+"), ("removed", "-")):
        count = members.get(f"{side}_count", 0)
        if count:
            names = ", ".join(members.get(side) or [])
            more = count - len(members.get(side) or [])
            tail = f" and {more} more" if more > 0 else ""
            lines.append(f"members {side} ({sign}{count}): {names}{tail}")
    return lines


def _shown(value: object) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"“{value}”"


def _short(resource_id: str) -> str:
    return resource_id[:8] + "…" if len(resource_id) > 12 else resource_id
