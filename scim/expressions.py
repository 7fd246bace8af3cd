"""The SCIM filter and attribute-path grammar (RFC 7644 §3.4.2.2 and §3.5.2), parsed to an AST.

Pure Python, no Django. We parse ourselves rather than with scim2-filter-parser 0.7.0 because
that parser gives `and` and `or` the same precedence (`a or b and c` becomes `(a or b) and c`),
accepts only one-digit numbers and cannot read an escaped quote inside a string.

Values are JSON literals (strings with JSON escapes, numbers, true/false/null). Keywords and
operators are case-insensitive. Bounds on length, depth and the number of comparisons keep a
hostile filter from costing more than a well-formed one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le")


class ExpressionError(ValueError):
    """A filter or path that does not follow the grammar or exceeds a bound."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one expression; the configured values come from `scim.conf`."""

    max_length: int
    max_depth: int
    max_comparisons: int


@dataclass(frozen=True)
class AttrPath:
    """`[urn:…:]attr[.sub]` as written; resolution against a schema happens elsewhere."""

    uri: str | None
    attr: str
    sub: str | None = None

    def __str__(self) -> str:
        text = f"{self.uri}:{self.attr}" if self.uri else self.attr
        return f"{text}.{self.sub}" if self.sub else text


@dataclass(frozen=True)
class Comparison:
    path: AttrPath
    op: str  # one of OPERATORS, or "pr"
    value: object = None  # str | int | float | bool | None


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class ValuePath:
    """`attr[filter]`: the filter applies to the sub-attributes of one value of `attr`."""

    path: AttrPath
    filter: Expr


Expr = Comparison | And | Or | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH `path`: `attr`, `attr.sub`, `urn:…:attr`, `attr[filter]` or `attr[filter].sub`."""

    attr: AttrPath  # uri + attribute (+ sub when there is no filter)
    filter: Expr | None = None
    sub: str | None = None  # sub-attribute after a filter

    @property
    def sub_attribute(self) -> str | None:
        return self.sub if self.filter is not None else self.attr.sub


# --- tokens ---------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lparen>\() | (?P<rparen>\)) | (?P<lbracket>\[) | (?P<rbracket>\])
  | (?P<string>"(?:[^"\\\x00-\x1f]|\\.)*")
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![A-Za-z0-9_.:$-]))
  | (?P<word>[A-Za-z0-9_$:.\-]+)
    """,
    re.VERBOSE,
)
_NAME_RE = re.compile(r"^(?:\$ref|[A-Za-z][A-Za-z0-9_$-]*)$")
_URN_PREFIX_RE = re.compile(r"^urn:", re.IGNORECASE)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            snippet = text[position : position + 10]
            raise ExpressionError(f"Unexpected character at position {position + 1}: {snippet!r}")
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _parse_attr_path(text: str, *, position: int) -> AttrPath:
    """`urn:…:attr.sub`, `attr.sub`, `attr` (or `.sub` after a value filter, handled by caller)."""
    uri = None
    rest = text
    if _URN_PREFIX_RE.match(text):
        uri, sep, rest = text.rpartition(":")
        if not sep or not uri:
            raise ExpressionError(f"Invalid attribute path {text!r} at position {position + 1}")
    attr, _, sub = rest.partition(".")
    if not _NAME_RE.match(attr) or (sub and not _NAME_RE.match(sub)):
        raise ExpressionError(f"Invalid attribute path {text!r} at position {position + 1}")
    return AttrPath(uri=uri, attr=attr, sub=sub or None)


def _literal(token: _Token) -> object:
    if token.kind == "string":
        try:
            value = json.loads(token.text)
        except json.JSONDecodeError:
            raise ExpressionError(
                f"Invalid string at position {token.position + 1}: {token.text[:20]!r}"
            ) from None
        if any("\ud800" <= ch <= "\udfff" for ch in value) or "\x00" in value:
            raise ExpressionError(
                f"The string at position {token.position + 1} contains a NUL character or an "
                "unpaired surrogate"
            )
        return value
    if token.kind == "number":
        return json.loads(token.text)
    word = token.text.lower()
    if word in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[word]
    raise ExpressionError(
        f"Expected a value (a quoted string, a number, true, false or null) at position "
        f"{token.position + 1}, got {token.text!r}"
    )


class _Parser:
    def __init__(self, text: str, limits: Limits) -> None:
        if len(text) > limits.max_length:
            raise ExpressionError(f"Longer than {limits.max_length} characters")
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.limits = limits
        self.depth = 0
        self.comparisons = 0

    # -- helpers --

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"Unexpected end: expected {what}")
        self.index += 1
        return token

    def peek_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() in words

    def expect(self, kind: str, what: str) -> _Token:
        token = self.next(what)
        if token.kind != kind:
            raise ExpressionError(
                f"Expected {what} at position {token.position + 1}, got {token.text!r}"
            )
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise ExpressionError(f"Nested deeper than {self.limits.max_depth} levels")

    def leave(self) -> None:
        self.depth -= 1

    # -- grammar --

    def filter(self, *, in_brackets: bool = False) -> Expr:
        self.enter()
        expr = self.and_expr(in_brackets)
        while self.peek_word("or"):
            self.index += 1
            expr = Or(expr, self.and_expr(in_brackets))
        self.leave()
        return expr

    def and_expr(self, in_brackets: bool) -> Expr:
        expr = self.unary(in_brackets)
        while self.peek_word("and"):
            self.index += 1
            expr = And(expr, self.unary(in_brackets))
        return expr

    def unary(self, in_brackets: bool) -> Expr:
        token = self.peek()
        if token is None:
            raise ExpressionError("Unexpected end: expected an expression")
        if self.peek_word("not"):
            self.index += 1
            self.expect("lparen", "'(' after 'not'")
            expr = self.filter(in_brackets=in_brackets)
            self.expect("rparen", "')'")
            return Not(expr)
        if token.kind == "lparen":
            self.index += 1
            expr = self.filter(in_brackets=in_brackets)
            self.expect("rparen", "')'")
            return expr
        return self.attribute_expression(in_brackets)

    def attribute_expression(self, in_brackets: bool) -> Expr:
        token = self.expect("word", "an attribute name")
        path = _parse_attr_path(token.text, position=token.position)
        following = self.peek()
        if following is not None and following.kind == "lbracket":
            if in_brackets:
                raise ExpressionError(
                    f"A value filter cannot be nested in another "
                    f"(position {following.position + 1})"
                )
            if path.sub is not None:
                raise ExpressionError(f"Unexpected '[' after {token.text!r}")
            self.index += 1
            inner = self.filter(in_brackets=True)
            self.expect("rbracket", "']'")
            after = self.peek()
            # Entra ID's form `emails[type eq "work"].value eq "x"` means "an email whose type is
            # work and whose value is x": a value filter with one more condition.
            if after is not None and after.kind == "word" and after.text.startswith("."):
                self.index += 1
                sub = after.text[1:]
                if not _NAME_RE.match(sub):
                    raise ExpressionError(f"Invalid sub-attribute {after.text!r}")
                comparison = self.comparison(AttrPath(None, sub))
                return ValuePath(path, And(inner, comparison))
            return ValuePath(path, inner)
        return self.comparison(path)

    def comparison(self, path: AttrPath) -> Comparison:
        operator = self.expect("word", "an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr)")
        op = operator.text.lower()
        self.comparisons += 1
        if self.comparisons > self.limits.max_comparisons:
            raise ExpressionError(f"More than {self.limits.max_comparisons} comparisons")
        if op == "pr":
            return Comparison(path, "pr")
        if op not in OPERATORS:
            raise ExpressionError(
                f"Unknown operator {operator.text!r} at position {operator.position + 1}"
            )
        value_token = self.next("a value")
        return Comparison(path, op, _literal(value_token))

    def finish(self) -> None:
        token = self.peek()
        if token is not None:
            raise ExpressionError(f"Unexpected {token.text!r} at position {token.position + 1}")


def parse_filter(text: str, limits: Limits) -> Expr:
    """Parse a `filter` parameter. Raises ExpressionError with a one-line explanation."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("The filter is empty")
    parser = _Parser(text, limits)
    expr = parser.filter()
    parser.finish()
    return expr


def parse_path(text: str, limits: Limits) -> PatchPath:
    """Parse a PATCH operation's `path`. Raises ExpressionError."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("The path is empty")
    parser = _Parser(text.strip(), limits)
    token = parser.expect("word", "an attribute name")
    attr = _parse_attr_path(token.text, position=token.position)
    if parser.peek() is None:
        return PatchPath(attr=attr)
    parser.expect("lbracket", "'['")
    if attr.sub is not None:
        raise ExpressionError(f"Unexpected '[' after {token.text!r}")
    expr = parser.filter(in_brackets=True)
    parser.expect("rbracket", "']'")
    sub = None
    after = parser.peek()
    if after is not None:
        if (
            after.kind != "word"
            or not after.text.startswith(".")
            or not _NAME_RE.match(after.text[1:])
        ):
            raise ExpressionError(f"Unexpected {after.text!r} after ']'")
        parser.index += 1
        sub = after.text[1:]
    parser.finish()
    return PatchPath(attr=attr, filter=expr, sub=sub)


def parse_attribute_list(text: str) -> list[AttrPath]:
    """`attributes` / `excludedAttributes`: comma-separated attribute paths."""
    paths = []
    for position, item in _comma_items(text):
        paths.append(_parse_attr_path(item, position=position))
    return paths


def _comma_items(text: str):
    position = 0
    for raw in text.split(","):
        item = raw.strip()
        if item:
            yield position + raw.find(item), item
        position += len(raw) + 1
