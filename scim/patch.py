"""The SCIM PATCH engine (RFC 7644 §3.5.2): apply operations to a document.

No database here. `scim.operations.parse_operations` validates a request body into typed
operations; `PatchApplier.apply` hands each one to `scim.quirks`, which turns the shapes real
clients send into operations on one attribute path each, then applies them in order to a copy
of the document. It returns the new document, the password if one was set, and the membership
changes, which the caller applies as SQL deltas.

The engine knows one operation the RFC leaves undefined, `values_only` (remove just the listed
values); only the quirk layer asks for it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from scim import values
from scim.conf import scim_settings
from scim.documents import Cleaner, get_key
from scim.exceptions import (
    InvalidPath,
    InvalidValue,
    Mutability,
    NoTarget,
    TooMany,
)
from scim.expressions import (
    Expr,
    Limits,
)
from scim.operations import Operation
from scim.quirks import OperationShapes, element_for_unmatched_filter
from scim.schema import Attribute, ResolvedPath, ResourceType, resolve
from scim.value_filters import filter_sub, matches, member_ids_from_filter


@dataclass
class MemberChange:
    """One membership change, in request order: add/remove some user ids, or replace/clear all."""

    kind: str  # add | remove | replace
    ids: list[str] = field(default_factory=list)


@dataclass
class PatchResult:
    document: dict
    member_changes: list[MemberChange]
    password: str | None = None
    password_removed: bool = False


def members_added(operations: list[Operation]) -> list[str]:
    """The member ids of `add members` operations in the shape identity providers send
    (`{"path": "members", "value": [{"value": id}, …]}`), read without applying anything:
    the group service resolves them before it locks the group. Here, with the other readings
    of PATCH shapes, so that a new shape is taught in one module."""
    return [
        member["value"]
        for operation in operations
        if operation.op == "add"
        and operation.path is not None
        and operation.path.filter is None
        and operation.path.attr.uri is None
        and operation.path.attr.sub is None
        and operation.path.attr.attr.lower() == "members"
        and isinstance(operation.value, list)
        for member in operation.value
        if isinstance(member, dict) and isinstance(member.get("value"), str)
    ]


# --- applying -----------------------------------------------------------------------------------


@dataclass
class _Target:
    resolved: ResolvedPath
    filter: Expr | None
    sub: Attribute | None

    @property
    def attribute(self) -> Attribute:
        return self.resolved.attribute


class PatchApplier:
    """Applies operations to one resource's document."""

    def __init__(
        self,
        resource: ResourceType,
        cleaner: Cleaner,
        *,
        resource_id: str,
        limits: Limits,
        max_members: int,
        member_attribute: str | None = None,
    ) -> None:
        self.resource = resource
        self.cleaner = cleaner
        self.shapes = OperationShapes(resource, resource_id=resource_id, limits=limits)
        self.member_attribute = member_attribute
        self.max_members = max_members

    @classmethod
    def configured(
        cls,
        resource: ResourceType,
        cleaner: Cleaner,
        *,
        resource_id: str,
        member_attribute: str | None = None,
    ) -> PatchApplier:
        """An applier with the service's configured limits (`scim.conf`)."""
        settings = scim_settings()
        return cls(
            resource,
            cleaner,
            resource_id=resource_id,
            limits=settings.filter_limits,
            max_members=settings.max_members,
            member_attribute=member_attribute,
        )

    def apply(self, document: dict, operations: list[Operation]) -> PatchResult:
        result = PatchResult(document=copy.deepcopy(document), member_changes=[])
        for operation in operations:
            for single in self.shapes.expand(operation):
                self._apply_one(result, single)
        if sum(len(change.ids) for change in result.member_changes) > self.max_members:
            raise TooMany(f"At most {self.max_members} members can change in one PATCH request.")
        self._check_value_counts(result.document)
        for attribute in self.resource.schema.attributes:
            if attribute.required and attribute.name not in result.document:
                raise InvalidValue(f"{attribute.name} is required and cannot be removed.")
        return result

    def _check_value_counts(self, document: dict) -> None:
        for schema in self.resource.schemas:
            container = document if schema is self.resource.schema else document.get(schema.id)
            for attribute in schema.attributes if isinstance(container, dict) else ():
                values = container.get(attribute.name)
                if attribute.multi_valued and isinstance(values, list):
                    self.cleaner.check_value_count(attribute, len(values), where=attribute.name)

    # -- one operation --

    def _resolve(self, operation: Operation) -> _Target:
        path = operation.path
        if path.attr.attr.lower() == "schemas" and path.attr.uri is None:
            raise Mutability("schemas cannot be changed.")
        resolved = resolve(self.resource, path.attr.uri, path.attr.attr)
        if resolved is None:
            raise InvalidPath(f"Unknown attribute {str(path.attr)!r}.")
        sub = None
        sub_name = path.sub_attribute
        if sub_name is not None:
            sub = resolved.attribute.sub(sub_name)
            if sub is None:
                raise InvalidPath(f"{resolved.attribute.name!r} has no sub-attribute {sub_name!r}.")
        if path.filter is not None and not resolved.attribute.is_complex:
            raise InvalidPath(f"{resolved.attribute.name!r} has no sub-attributes to filter on.")
        if resolved.attribute.mutability == "readOnly" or (
            sub is not None and sub.mutability == "readOnly"
        ):
            name = resolved.dotted if sub is None else f"{resolved.attribute.name}.{sub.name}"
            raise Mutability(f"{name} is read-only.")
        return _Target(resolved, path.filter, sub)

    def _container(self, document: dict, target: _Target, *, create: bool) -> dict | None:
        """The object holding the target attribute: the document or an extension's object."""
        if not target.resolved.is_extension:
            return document
        urn = target.resolved.schema.id
        if urn not in document:
            if not create:
                return None
            document[urn] = {}
        return document[urn]

    def _apply_one(self, result: PatchResult, operation: Operation) -> None:
        target = self._resolve(operation)
        if target.attribute.name == "password":
            self._password(result, operation, target)
        elif self.member_attribute and target.attribute.name == self.member_attribute:
            self._members(result, operation, target)
        else:
            if operation.op == "remove":
                container = self._container(result.document, target, create=False)
                if container is not None and target.attribute.name in container:
                    self._remove(container, operation, target)
            else:
                if not operation.has_value:
                    raise InvalidValue(
                        f"Operations[{operation.index}]: {operation.op} needs a value."
                    )
                container = self._container(result.document, target, create=True)
                self._set(container, operation, target)
            if target.resolved.is_extension and not result.document.get(target.resolved.schema.id):
                result.document.pop(target.resolved.schema.id, None)

    def _clean(
        self,
        attribute: Attribute,
        value: object,
        *,
        operation: Operation,
        dotted: str,
        single: bool = False,
    ):
        where = f"Operations[{operation.index}].value"
        if single or not attribute.multi_valued:
            return self.cleaner.clean_single(attribute, value, where=where, dotted=dotted)
        if isinstance(value, dict):
            value = [value]  # one element given for a multi-valued attribute
        return self.cleaner.clean_value(attribute, value, where=where, dotted=dotted)

    # -- add and replace --

    def _set(self, container: dict, operation: Operation, target: _Target) -> None:
        attribute = target.attribute
        if target.filter is not None:
            self._set_filtered(container, operation, target)
        elif target.sub is not None:
            self._set_sub_attribute(container, operation, target)
        elif attribute.multi_valued:
            cleaned = (
                self._clean(attribute, operation.value, operation=operation, dotted=attribute.name)
                or []
            )
            if operation.op == "add":
                cleaned = values.union(container.get(attribute.name) or [], cleaned)
            values.store(container, attribute.name, values.single_primary(cleaned))
        elif attribute.is_complex:
            cleaned = self._clean(
                attribute, operation.value, operation=operation, dotted=attribute.name
            )
            if cleaned is None and operation.op == "replace":
                container.pop(attribute.name, None)
                return
            values.store(
                container,
                attribute.name,
                {**(container.get(attribute.name) or {}), **(cleaned or {})},
            )
        else:
            values.store(
                container,
                attribute.name,
                self._clean(attribute, operation.value, operation=operation, dotted=attribute.name),
            )

    def _set_sub_attribute(self, container: dict, operation: Operation, target: _Target) -> None:
        attribute, sub = target.attribute, target.sub
        if attribute.multi_valued:
            raise InvalidPath(
                f"{attribute.name}.{sub.name} names a sub-attribute of every value; "
                "select values with a filter, e.g. "
                f'{attribute.name}[type eq "work"].{sub.name}.'
            )
        cleaned = self._clean(
            sub, operation.value, operation=operation, dotted=f"{attribute.name}.{sub.name}"
        )
        values.store(
            container,
            attribute.name,
            values.with_sub(dict(container.get(attribute.name) or {}), sub.name, cleaned),
        )

    def _set_filtered(self, container: dict, operation: Operation, target: _Target) -> None:
        attribute = target.attribute
        if attribute.multi_valued:
            elements = list(container.get(attribute.name) or [])
        else:
            current = container.get(attribute.name)
            if current is None or not matches(current, target.filter, attribute):
                raise NoTarget(f"The filter on {attribute.name} matches no value.")
            elements = [current]
        hits = [i for i, e in enumerate(elements) if matches(e, target.filter, attribute)]
        if not hits:
            elements.append(self._seed(operation, target))
            hits = [len(elements) - 1]
        for i in hits:
            elements[i] = self._updated_element(elements[i], operation, target)
        if not attribute.multi_valued:
            values.store(container, attribute.name, elements[0] or None)
            return
        if target.sub is not None and target.sub.name == "primary" and operation.value is not None:
            elements = values.single_primary(elements, keep=hits[-1])
        values.store(container, attribute.name, values.single_primary([e for e in elements if e]))

    def _seed(self, operation: Operation, target: _Target) -> dict:
        """The element a filter that matched nothing describes (scim.quirks, tolerance 6)."""
        attribute = target.attribute
        seed = element_for_unmatched_filter(target.filter, lambda c: filter_sub(c, attribute))
        if seed is None:
            raise NoTarget(f"The filter on {attribute.name} matches no value.")
        return (
            self._clean(attribute, seed, operation=operation, dotted=attribute.name, single=True)
            or {}
        )

    def _updated_element(self, element: dict, operation: Operation, target: _Target) -> dict:
        attribute = target.attribute
        if target.sub is not None:
            cleaned = self._clean(
                target.sub,
                operation.value,
                operation=operation,
                dotted=f"{attribute.name}.{target.sub.name}",
            )
            return values.with_sub(dict(element), target.sub.name, cleaned)
        cleaned = self._clean(
            attribute, operation.value, operation=operation, dotted=attribute.name, single=True
        )
        return {**element, **(cleaned or {})} if operation.op == "add" else (cleaned or {})

    # -- remove --

    def _remove(self, container: dict, operation: Operation, target: _Target) -> None:
        """Remove what the target names from `container`, which holds the attribute."""
        attribute, name = target.attribute, target.attribute.name
        if target.filter is None and target.sub is None:
            if not operation.values_only:
                container.pop(name)
            elif attribute.multi_valued:
                wanted = operation.value if isinstance(operation.value, list) else [operation.value]
                values.store(
                    container, name, values.without_values(container[name], wanted) or None
                )
            elif values.same_value(container[name], operation.value):
                container.pop(name)
        elif target.filter is None:
            values.store(
                container,
                name,
                values.with_sub(dict(container[name] or {}), target.sub.name, None) or None,
            )
        elif attribute.multi_valued:
            kept = [self._removed_from(e, target) for e in container[name]]
            values.store(container, name, [e for e in kept if e] or None)
        else:
            values.store(container, name, self._removed_from(container[name], target) or None)

    def _removed_from(self, element: dict, target: _Target) -> dict | None:
        """An element after a filtered remove: gone if it matches, or without the sub-attribute."""
        if not matches(element, target.filter, target.attribute):
            return element
        if target.sub is None:
            return None
        return {k: v for k, v in element.items() if k != target.sub.name}

    # -- special attributes --

    def _password(self, result: PatchResult, operation: Operation, target: _Target) -> None:
        if target.filter is not None or target.sub is not None:
            raise InvalidPath("password has no sub-attributes.")
        password = None
        if operation.op != "remove":
            password = self.cleaner.clean_single(
                target.attribute, operation.value, where="password", dotted="password"
            )
        result.password, result.password_removed = password, password is None

    def _members(self, result: PatchResult, operation: Operation, target: _Target) -> None:
        where = f"Operations[{operation.index}]"
        if target.sub is not None:
            raise InvalidPath(f"{where}: members can only be changed as a whole value.")
        if target.filter is not None:
            if operation.op != "remove":
                raise InvalidPath(f"{where}: a filter on members is only supported with remove.")
            change = MemberChange("remove", member_ids_from_filter(target.filter))
        elif operation.op == "remove":
            # With listed values, those members; without, all of them (RFC 7644 §3.5.2.2).
            change = (
                MemberChange("remove", self._member_ids(operation.value, where=where))
                if operation.values_only
                else MemberChange("replace", [])
            )
        elif operation.op == "add":
            if not operation.has_value:
                raise InvalidValue(f"{where}: add needs a value.")
            change = MemberChange("add", self._member_ids(operation.value, where=where))
        else:  # replace: the whole list, an absent value meaning none
            change = MemberChange("replace", self._member_ids(operation.value, where=where))
        result.member_changes.append(change)

    def _member_ids(self, value: object, *, where: str) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if len(items) > self.max_members:
            raise TooMany(f"At most {self.max_members} members can change in one PATCH request.")
        ids = []
        for index, item in enumerate(items):
            member = get_key(item, "value") if isinstance(item, dict) else item
            if not isinstance(member, str) or not member:
                raise InvalidValue(f"{where}.value[{index}] must carry the member's id in value.")
            ids.append(member)
        return ids
