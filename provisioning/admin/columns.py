"""The integration list's columns: the endpoint with a Copy button, a one-click Enable/Disable,
the Secret Token's state and a 7-day activity chart. Each renders one integration; the list's
queryset and changelist give them what they need already fetched (tokens, activity)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timezone import localtime

from provisioning.activity import Bucket
from provisioning.charts import activity_svg
from provisioning.models import ProvisioningIntegration
from provisioning.readiness import token_state
from provisioning.selectors import integration_endpoint


def endpoint(integration: ProvisioningIntegration, request: HttpRequest) -> str:
    # Shortened to fit the list; the Copy button copies the whole Tenant URL from a field that
    # is off-screen but still selectable (copy.js falls back to selecting it).
    full = integration_endpoint(integration, request=request)
    field = f"endpoint-{integration.pk}"
    return format_html(
        '<code class="endpoint-short" title="{}">…{}…</code> '
        '<input id="{}" class="visually-hidden" type="text" readonly value="{}" '
        'tabindex="-1" aria-hidden="true">'
        '<button type="button" class="button copy" data-copy="#{}">Copy</button>',
        full,
        str(integration.pk)[:8],
        field,
        full,
        field,
    )


def enabled_toggle(integration: ProvisioningIntegration) -> str:
    url = reverse("admin:provisioning_provisioningintegration_toggle", args=[integration.pk])
    label, state = ("Disable", "enabled") if integration.enabled else ("Enable", "disabled")
    # `formaction` posts the list's own form (which carries the CSRF token) to the toggle
    # view: one click, no JavaScript, no nested form.
    return format_html(
        '<span class="integration-state {}">{}</span> '
        '<button type="submit" class="button integration-toggle" formaction="{}" '
        'name="toggle" value="{}">{}</button>',
        state,
        state,
        url,
        integration.pk,
        label,
    )


def token_status(integration: ProvisioningIntegration) -> str:
    account = integration.service_account
    state = token_state(getattr(account, "unrevoked", []) if account else [])
    css = "expired" if not state.live else "expiring" if state.expiring else "valid"
    return format_html('<span class="token-state {}">{}</span>', css, state.label)


def activity(days: list[Bucket]) -> str:
    return activity_svg(days, unit="day", width=84, height=22, css_class="mini")


def moment(when: datetime | None) -> str:
    """Compact and unambiguous, to keep the list within the page: 2026-11-29 10:20."""
    return f"{localtime(when):%Y-%m-%d %H:%M}" if when else "never"
