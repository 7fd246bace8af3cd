"""Access decisions for the platform: may this subject do this, here — and why.

The questions the decision API, the commands and the admin ask, each answered from the
database as it is now (`kestra_iam.rbac.policy`) by the one rule (`kestra_iam.rbac.grants`):

- `check_access`: a batch of (subject, permission, namespace) → allowed or not, with the grants
  that allow it or the reason it is denied; two queries for the whole batch;
- `subject_permissions`: everything one subject holds, by namespace, with where it comes from;
- `subject_namespaces`: where one subject holds one permission.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError

from kestra_iam.models import Tenant
from kestra_iam.namespaces import validate_namespace
from kestra_iam.permissions import Permission
from kestra_iam.rbac.grants import (
    Effective,
    Grant,
    Namespaces,
    effective_permissions,
    namespaces_holding,
    reasons_for,
)
from kestra_iam.rbac.policy import (
    AccessState,
    Subject,
    SubjectRef,
    load_grants,
    resolve_subjects,
)

MAX_CHECKS = 1000


class Denial(StrEnum):
    UNKNOWN_SUBJECT = "unknown_subject"
    NO_ACCESS = "no_access"
    ACCESS_DISABLED = "access_disabled"
    NOT_GRANTED = "not_granted"


DENIAL_TEXT = {
    Denial.UNKNOWN_SUBJECT: "no such user or service account",
    Denial.NO_ACCESS: "the user has no access to this tenant",
    Denial.ACCESS_DISABLED: "the user's access to this tenant is disabled",
    Denial.NOT_GRANTED: "no binding, group or default role grants it here",
}


@dataclass(frozen=True)
class Check:
    subject: SubjectRef
    permission: Permission
    namespace: str = ""

    def __post_init__(self) -> None:
        validate_scope(self.permission, self.namespace)


def validate_scope(permission: Permission, namespace: str) -> None:
    """A namespace, when given, must be one, and only namespaced resources live in one."""
    validate_namespace(namespace)
    if namespace and not permission.namespaced:
        raise ValidationError(
            f"{permission.resource.value} belongs to the tenant as a whole, not to a namespace: "
            "ask without one.",
            code="not_namespaced",
        )


@dataclass(frozen=True)
class Decision:
    check: Check
    subject: Subject | None
    reasons: tuple[Grant, ...]
    denial: Denial | None

    @property
    def allowed(self) -> bool:
        return self.denial is None

    def explain(self, *, as_denial: Denial | None = None) -> str:
        """The decision in one line of words (a denial told as `as_denial`, for a reader who
        may not learn the difference)."""
        asked = f"{self.check.permission} in " + (
            f"namespace {self.check.namespace}" if self.check.namespace else "the tenant"
        )
        if self.denial is not None:
            return f"denied: {asked} — {DENIAL_TEXT[as_denial or self.denial]}"
        return f"allowed: {asked} — " + "; ".join(grant.describe() for grant in self.reasons)


def check_access(*, tenant: Tenant, checks: Sequence[Check]) -> list[Decision]:
    """Decide every check, in order. At most MAX_CHECKS at once."""
    if len(checks) > MAX_CHECKS:
        raise ValidationError(f"At most {MAX_CHECKS} checks per request.", code="too_many")
    subjects = resolve_subjects(tenant, (check.subject for check in checks))
    askable = {s for s in subjects.values() if s.access is AccessState.ACTIVE}
    asked = defaultdict(set)
    for check in checks:
        if (subject := subjects.get(check.subject)) in askable:
            asked[subject].add(check.namespace)
    grants = load_grants(tenant, askable, namespaces=asked)
    return [_decide(check, subjects.get(check.subject), grants) for check in checks]


def _decide(check: Check, subject: Subject | None, grants: dict) -> Decision:
    if subject is None:
        return Decision(check, None, (), Denial.UNKNOWN_SUBJECT)
    if subject.access is AccessState.NONE:
        return Decision(check, subject, (), Denial.NO_ACCESS)
    if subject.access is AccessState.DISABLED:
        return Decision(check, subject, (), Denial.ACCESS_DISABLED)
    reasons = tuple(reasons_for(grants[subject], check.permission, check.namespace))
    return Decision(check, subject, reasons, None if reasons else Denial.NOT_GRANTED)


@dataclass(frozen=True)
class SubjectPermissions:
    subject: Subject
    permissions: tuple[Effective, ...]  # empty unless the access is active


@dataclass(frozen=True)
class SubjectNamespaces:
    subject: Subject
    holding: Namespaces


class UnknownSubject(ValidationError):
    """The subject a question names does not exist (in this tenant, for a service account)."""


def subject_grants(
    *, tenant: Tenant, subject: SubjectRef, as_if_active: bool = False
) -> tuple[Subject, list[Grant]]:
    """A subject and all its grants in the tenant: none unless its access is active — or, with
    `as_if_active`, those a disabled access would hold again once re-enabled."""
    resolved = resolve_subjects(tenant, [subject]).get(subject)
    if resolved is None:
        raise UnknownSubject(
            f"There is no {subject.label} {subject.value!r}.", code="unknown_subject"
        )
    if resolved.access is AccessState.NONE or (
        resolved.access is AccessState.DISABLED and not as_if_active
    ):
        return resolved, []
    return resolved, load_grants(tenant, [resolved], as_if_active=as_if_active)[resolved]


def subject_permissions(
    *, tenant: Tenant, subject: SubjectRef, as_if_active: bool = False
) -> SubjectPermissions:
    resolved, grants = subject_grants(tenant=tenant, subject=subject, as_if_active=as_if_active)
    return SubjectPermissions(resolved, tuple(effective_permissions(grants)))


def subject_namespaces(
    *, tenant: Tenant, subject: SubjectRef, permission: Permission
) -> SubjectNamespaces:
    resolved, grants = subject_grants(tenant=tenant, subject=subject)
    return SubjectNamespaces(resolved, namespaces_holding(grants, permission))
