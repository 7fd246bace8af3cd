"""Users and Groups behind one interface, so views never branch on the resource type.

Like django-scim2's adapters, minus persistence: an adapter knows which selector reads its
resource type, what rendering needs loaded, and how a page of it is rendered for a response.
Writes differ too much between the two (passwords, members) to share a signature; they stay
with their views.
"""

from __future__ import annotations

from dataclasses import dataclass

from kestra_iam.models import Group, Tenant
from kestra_iam.permissions import Resource
from scim import groups as group_resource
from scim import users as user_resource
from scim.conf import SCIMSettings
from scim.projection import Projection
from scim.schema import ENTERPRISE_SCHEMA, GROUP_RESOURCE, USER_RESOURCE, ResourceType
from scim.selectors import (
    ListQuery,
    Page,
    scim_group_list,
    scim_group_member_rows,
    scim_group_member_stream,
    scim_user_details,
    scim_user_list,
)
from scim.users import UserRead


@dataclass(frozen=True)
class ResourceAdapter:
    type: ResourceType
    permission: Resource  # what the integration's role must grant to read it

    def projection(self, params: dict) -> Projection:
        return Projection.from_params(self.type, params)

    def count(self, *, tenant: Tenant, query: ListQuery, settings: SCIMSettings) -> int:
        """How many resources match the query's filter (the page is not read)."""
        counter = ListQuery(filter=query.filter, start_index=1, count=0)
        return self.page(
            tenant=tenant, query=counter, settings=settings, projection=None, base_url=""
        ).total

    def page(
        self,
        *,
        tenant: Tenant,
        query: ListQuery,
        settings: SCIMSettings,
        projection: Projection | None,
        base_url: str,
    ) -> Page:
        """A page whose items are rendered documents (or streams of JSON bytes)."""
        raise NotImplementedError


class UserAdapter(ResourceAdapter):
    def details(self, projection: Projection | None) -> dict:
        """What to load besides the user rows, from what the response will carry."""
        if projection is None:
            return {"values": False, "groups": False, "managers": False}
        manager = ENTERPRISE_SCHEMA.attribute("manager")
        return {
            "values": any(projection.wants_attribute(a) for a in user_resource.MULTI_VALUED),
            "groups": projection.wants_attribute("groups"),
            "managers": projection.wants(ENTERPRISE_SCHEMA.id, "manager", manager),
        }

    def render(self, read: UserRead, projection: Projection, *, base_url: str) -> dict:
        return projection.apply(user_resource.render_user(read, base_url=base_url))

    def load_for(self, read: UserRead, projection: Projection) -> None:
        """Load what rendering a freshly written user needs (what the write left unknown)."""
        scim_user_details([read], **{**self.details(projection), "groups": False})

    def page(self, *, tenant, query, settings, projection, base_url) -> Page:
        page = scim_user_list(
            tenant=tenant, query=query, settings=settings, **self.details(projection)
        )
        if projection is None:
            return page
        items = [self.render(read, projection, base_url=base_url) for read in page.items]
        return Page(total=page.total, start_index=page.start_index, items=items)


class GroupAdapter(ResourceAdapter):
    def render(
        self,
        groups: list[Group],
        projection: Projection,
        *,
        base_url: str,
        stream_above: int | None = None,
    ) -> list:
        """The groups as SCIM documents, their members read in one query.

        With `stream_above` (list pages, whose groups carry `member_count`), a group with more
        members than that is given as an iterator of JSON bytes instead, written out as its
        members are read.
        """
        with_members = projection.wants_attribute("members")
        streamed = {
            group.pk
            for group in groups
            if with_members and stream_above is not None and group.member_count > stream_above
        }
        members = {g.pk: [] for g in groups if g.pk not in streamed} if with_members else None
        for group_id, user_id, display, user_name in (
            scim_group_member_rows(members) if members else ()
        ):
            members[group_id].append(
                group_resource.render_member(user_id, display, user_name, base_url=base_url)
            )
        return [
            self.stream(group, projection, base_url=base_url)
            if group.pk in streamed
            else projection.apply(
                group_resource.render_group(
                    group,
                    base_url=base_url,
                    members=members[group.pk] if members is not None else None,
                )
            )
            for group in groups
        ]

    def stream(self, group: Group, projection: Projection, *, base_url: str):
        return group_resource.stream_group(
            group, scim_group_member_stream(group.pk), base_url=base_url, project=projection.apply
        )

    def page(self, *, tenant, query, settings, projection, base_url) -> Page:
        with_members = projection is not None and projection.wants_attribute("members")
        page = scim_group_list(tenant=tenant, query=query, settings=settings, members=with_members)
        if projection is None:
            return page
        items = self.render(
            page.items, projection, base_url=base_url, stream_above=settings.stream_members_above
        )
        return Page(total=page.total, start_index=page.start_index, items=items)


USERS = UserAdapter(USER_RESOURCE, Resource.USERS)
GROUPS = GroupAdapter(GROUP_RESOURCE, Resource.GROUPS)
ADAPTERS = (USERS, GROUPS)  # in the order a root search lists them
