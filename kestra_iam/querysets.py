"""Tenant scoping in one place: every tenant-owned queryset narrows through `for_tenant`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

if TYPE_CHECKING:
    from kestra_iam.models import Tenant


class TenantScopedQuerySet(models.QuerySet):
    """A queryset whose model names the lookup from itself to its tenant.

    Models set `tenant_lookup` (e.g. `"tenant"`, `"group__tenant"`, `"accesses__tenant"`); code that
    serves a tenant never filters on it by hand, so no caller can forget or misspell the scope.
    """

    def for_tenant(self, tenant: Tenant | str) -> Self:
        lookup = self.model.tenant_lookup
        return self.filter(**{lookup: tenant})
