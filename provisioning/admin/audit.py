"""The audit trail by integration: the trail is the IAM domain's, integrations are
provisioning's, so this app adds the filter by integration and names each SCIM write by the
integration that made it ("Entra ID - Contoso disabled …"), a deleted one included."""

from __future__ import annotations

from django.urls import reverse

from kestra_iam.admin_audit import AuditEventAdmin
from kestra_iam.audit_story import ACTOR_NAMERS, Actor
from kestra_iam.models import AuditEvent
from provisioning.admin.filters import ProvisionedByFilter
from provisioning.selectors import integration_names


class AuditIntegrationFilter(ProvisionedByFilter):
    """Audit events by integration, deleted integrations included."""

    title = "integration"
    field = "integration_id"


INTEGRATION_PAGE = "admin:provisioning_provisioningintegration_change"


def integration_actors(events: list[AuditEvent]) -> dict[int, Actor]:
    """A SCIM write is the integration's: named by it, linked to its page while it exists."""
    scim = [
        event
        for event in events
        if event.integration_id and event.actor_type == AuditEvent.ActorType.SERVICE_ACCOUNT
    ]
    names = integration_names({event.integration_id for event in scim}) if scim else {}
    actors = {}
    for event in scim:
        name, live = names.get(event.integration_id, (event.actor, False))
        url = (
            reverse(
                "admin:provisioning_provisioningintegration_change", args=[event.integration_id]
            )
            if live
            else None
        )
        actors[event.pk] = Actor(name, url)
    return actors


AuditEventAdmin.list_filter.insert(3, AuditIntegrationFilter)
ACTOR_NAMERS.append(integration_actors)
