"""PATCH requests (RFC 7644 §3.5.2) read into typed operations, before anything is applied."""

from __future__ import annotations

from dataclasses import dataclass

from scim.documents import get_key, has_key
from scim.exceptions import InvalidPath, InvalidSyntax, TooMany
from scim.expressions import ExpressionError, Limits, PatchPath, parse_path
from scim.schema import PATCH_OP_URN

OPS = ("add", "remove", "replace")


@dataclass(frozen=True)
class Operation:
    op: str  # add | remove | replace
    path: PatchPath | None
    value: object = None
    has_value: bool = False
    index: int = 0  # position in the request, for messages
    values_only: bool = False  # remove only the values given (see scim.quirks, tolerance 4)


def parse_operations(body: object, *, max_operations: int, limits: Limits) -> list[Operation]:
    """Validate a PatchOp request body; raise a SCIM error naming the first problem."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The body must be a PatchOp JSON object.")
    schemas = get_key(body, "schemas")
    if schemas is not None and (
        not isinstance(schemas, list)
        or PATCH_OP_URN not in [s for s in schemas if isinstance(s, str)]
    ):
        raise InvalidSyntax(f"schemas must contain {PATCH_OP_URN}.")
    raw_operations = get_key(body, "Operations")
    if not isinstance(raw_operations, list) or not raw_operations:
        raise InvalidSyntax("Operations must be a non-empty array.")
    if len(raw_operations) > max_operations:
        raise TooMany(f"At most {max_operations} operations are accepted in one PATCH request.")
    return [_parse_operation(raw, index, limits) for index, raw in enumerate(raw_operations)]


def _parse_operation(raw: object, index: int, limits: Limits) -> Operation:
    where = f"Operations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be an object.")
    op = get_key(raw, "op")
    if not isinstance(op, str) or op.lower() not in OPS:  # any case: scim.quirks, tolerance 2
        raise InvalidSyntax(f"{where}.op must be add, remove or replace; got {op!r}.")
    raw_path = get_key(raw, "path")
    path = None
    if raw_path is not None:
        if not isinstance(raw_path, str):
            raise InvalidPath(f"{where}.path must be a string.")
        if raw_path.strip():
            try:
                path = parse_path(raw_path, limits)
            except ExpressionError as exc:
                raise InvalidPath(f"{where}.path {raw_path!r} is invalid: {exc}.") from None
    return Operation(
        op=op.lower(),
        path=path,
        value=get_key(raw, "value"),
        has_value=has_key(raw, "value"),
        index=index,
    )
