"""Decisions as JSON: the one shape the decision API answers and `manage.py access --json`
prints, so a script can switch between the two without rewriting its parser."""

from __future__ import annotations

from kestra_iam.rbac.engine import DENIAL_TEXT, Decision, SubjectNamespaces, SubjectPermissions
from kestra_iam.rbac.grants import Grant, Source
from kestra_iam.rbac.policy import Subject, SubjectKind


def subject_document(subject: Subject) -> dict:
    if subject.kind is SubjectKind.USER:
        return {
            "type": "user",
            "id": str(subject.pk),
            "userName": subject.name,
            "access": subject.access.value,
        }
    return {"type": "serviceAccount", "id": subject.pk, "name": subject.name}


def grant_document(grant: Grant) -> dict:
    """Why: the path (a direct binding, a group's binding, the default role) and the role."""
    document = {
        "source": {
            Source.DIRECT: "binding",
            Source.GROUP: "group",
            Source.DEFAULT_ROLE: "defaultRole",
        }[grant.source],
        "role": {"id": grant.role_id, "name": grant.role_name},
        "namespace": grant.namespace or None,
        "text": grant.describe(),
    }
    if grant.binding_id is not None:
        document["bindingId"] = grant.binding_id
    if grant.group_id is not None:
        document["group"] = {"id": str(grant.group_id), "displayName": grant.group_name}
    return document


def decision_document(decision: Decision) -> dict:
    return {
        "allowed": decision.allowed,
        "permission": str(decision.check.permission),
        "namespace": decision.check.namespace or None,
        "subject": subject_document(decision.subject) if decision.subject else None,
        "reasons": [grant_document(grant) for grant in decision.reasons],
        "denial": (
            {"code": decision.denial.value, "text": DENIAL_TEXT[decision.denial]}
            if decision.denial
            else None
        ),
    }


def permissions_document(held: SubjectPermissions) -> dict:
    return {
        "subject": subject_document(held.subject),
        "permissions": [
            {
                "namespace": entry.namespace or None,
                "permission": str(entry.permission),
                "reasons": [grant_document(grant) for grant in entry.reasons],
            }
            for entry in held.permissions
        ],
    }


def namespaces_document(where: SubjectNamespaces, permission: str) -> dict:
    return {
        "subject": subject_document(where.subject),
        "permission": permission,
        "tenantWide": where.holding.tenant_wide,
        "namespaces": list(where.holding.namespaces),
        "reasons": [grant_document(grant) for grant in where.holding.reasons],
    }
