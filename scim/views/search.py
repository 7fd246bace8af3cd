"""POST /.search: one page across every resource type the integration may read."""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied

from kestra_iam.permissions import Action, Permission
from scim.conf import scim_settings
from scim.exceptions import SCIMError
from scim.resources import ADAPTERS
from scim.selectors import ListQuery, Page, parse_list_query
from scim.views.base import SCIMView, search_params


class RootSearchView(SCIMView):
    """Users then groups, as if one list, for the types the caller's role lets it read.

    A type whose attributes the filter does not know (`displayName` is not a User attribute)
    contributes nothing; the request fails only if every type refuses the filter.
    """

    is_search = True

    def post(self, request, **kwargs):
        params = search_params(self.body())
        settings = scim_settings()
        query = parse_list_query(params, settings)
        adapters = [
            a for a in ADAPTERS if request.auth.allows(Permission(a.permission, Action.READ))
        ]
        if not adapters:
            raise PermissionDenied("The integration may read neither users nor groups.")
        totals = self.totals(adapters, query, settings)
        resources: list = []
        offset = query.start_index - 1
        for adapter, total in totals.items():
            remaining = query.count - len(resources)
            if remaining <= 0:
                break
            if offset >= total:
                offset -= total
                continue
            sub = ListQuery(
                filter=query.filter,
                sort_by=query.sort_by,
                sort_order=query.sort_order,
                start_index=offset + 1,
                count=remaining,
            )
            page = adapter.page(
                tenant=self.tenant,
                query=sub,
                settings=settings,
                projection=adapter.projection(params),
                base_url=self.base_url,
            )
            resources.extend(page.items)
            offset = 0
        return self.list_response(
            Page(total=sum(totals.values()), start_index=query.start_index, items=resources)
        )

    def totals(self, adapters, query: ListQuery, settings) -> dict:
        """{adapter: number of matches} for the types that accept the filter."""
        totals, errors = {}, []
        for adapter in adapters:
            try:
                totals[adapter] = adapter.count(tenant=self.tenant, query=query, settings=settings)
            except SCIMError as exc:
                errors.append(exc)
        if not totals:
            raise errors[0]
        return totals
