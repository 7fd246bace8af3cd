"""Reads of provisioning integrations."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from kestra_iam.identifiers import parse_uuid
from kestra_iam.models import AuditEvent, Tenant
from provisioning.models import ProvisioningIntegration
from provisioning.provisioner_role import SCIM_PROVISIONER_ROLE

# Where `make run` serves; used when neither KESTRA_URL nor a request tells the public address.
LOCAL_BASE_URL = "http://127.0.0.1:8000"


def scim_base_path(*, tenant_id: str, integration_id: uuid.UUID | str) -> str:
    """The path of an integration's SCIM service, as Kestra documents it."""
    return f"/api/v1/{tenant_id}/integrations/{integration_id}/scim/v2"


def public_base_url(request: HttpRequest | None = None) -> str:
    """KESTRA_URL if configured, else the scheme and host the request came in on."""
    if settings.KESTRA_URL:
        return settings.KESTRA_URL
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    return LOCAL_BASE_URL


def integration_endpoint(
    integration: ProvisioningIntegration, *, request: HttpRequest | None = None
) -> str:
    """The Tenant URL to paste into the identity provider."""
    path = scim_base_path(tenant_id=integration.tenant_id, integration_id=integration.id)
    return public_base_url(request) + path


def integration_list(*, tenant: Tenant | str | None = None) -> QuerySet[ProvisioningIntegration]:
    integrations = ProvisioningIntegration.objects.select_related("tenant", "service_account")
    return integrations.for_tenant(tenant) if tenant is not None else integrations.all()


def integration_get(integration_id: str | uuid.UUID) -> ProvisioningIntegration | None:
    """The integration with this id, or None (also for a value that is not a UUID)."""
    pk = parse_uuid(integration_id)
    return integration_list().filter(pk=pk).first() if pk else None


def integrations_relying_on(roles) -> list[ProvisioningIntegration]:
    """The integrations that a change to these roles can break: those whose service account
    is bound to one of them, and every integration of a tenant whose SCIMProvisioner role is
    among them (repair re-binds to that role by name)."""
    roles = list(roles)
    if not roles:
        return []
    by_name = [role.tenant_id for role in roles if role.name == SCIM_PROVISIONER_ROLE]
    return list(
        integration_list()
        .filter(Q(service_account__bindings__role__in=roles) | Q(tenant_id__in=by_name))
        .distinct()
        .order_by("tenant_id", "name")
    )


INTEGRATION_RESOURCE = "provisioningintegration"  # how the trail names the model


def integration_names(
    ids: set[uuid.UUID] | None = None, *, tenant_ids: list[str] | None = None
) -> dict[uuid.UUID, tuple[str, bool]]:
    """{integration id: (name, still exists)} for these ids (or for every integration the
    trail knows of), of these tenants (or all): a deleted integration by the name its deletion
    event recorded, so that its provisioning logs still say who wrote them."""
    live = ProvisioningIntegration.objects.all()
    if ids is not None:
        live = live.filter(pk__in=ids)
    if tenant_ids is not None:
        live = live.filter(tenant_id__in=tenant_ids)
    names = {pk: (name, True) for pk, name in live.values_list("pk", "name")}
    if ids is not None and not set(ids) - set(names):
        return names
    deletions = AuditEvent.objects.filter(
        kind=AuditEvent.Kind.DELETED, resource_type=INTEGRATION_RESOURCE
    ).exclude(subject="")
    if tenant_ids is not None:
        deletions = deletions.filter(tenant_id__in=tenant_ids)
    if ids is not None:
        deletions = deletions.filter(resource_id__in=[str(pk) for pk in set(ids) - set(names)])
    for resource_id, subject in deletions.values_list("resource_id", "subject"):
        pk = parse_uuid(resource_id)
        if pk is not None and pk not in names:
            names[pk] = (subject, False)
    return names
