"""The rules every identifier people look up shares (userName, group names): how two of them
compare, and which characters they may not hold."""

import unicodedata

from django.core.exceptions import ValidationError

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15.1): code points a
# renderer shows as nothing. Python's unicodedata does not expose the property; the ranges change
# rarely and only by growing inside the reserved blocks already listed.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)  # fmt: skip
# Not default-ignorable, but drawn as nothing all the same.
BLANK_GLYPHS = frozenset({0x2800})  # BRAILLE PATTERN BLANK


def case_insensitive_key(value: str) -> str:
    """The form two identifiers must share to be "the same" when case does not matter.

    NFKC maps compatibility forms (fullwidth letters, ligatures) to their plain form, as PRECIS
    width mapping does (RFC 7644 §7.8), and `casefold` is Unicode's caseless matching, which
    `lower()` is not (`ß` vs `SS`). Computed in Python so SQLite and PostgreSQL agree whatever
    their collation; the result is stored in an indexed column so lookups stay index-backed.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def invisible_character(value: str) -> str | None:
    """The first character of `value` that cannot be seen, or None: a control or format
    character (right-to-left overrides, zero-width joiners), a default-ignorable one (the
    combining grapheme joiner, variation selectors, Hangul fillers) or a blank glyph. Each
    makes a name that looks like another one and compares different — the way look-alike
    accounts are made (RFC 8264 disallows them in identifiers)."""
    if value.isascii() and value.isprintable():  # the usual case, checked in C
        return None
    for ch in value:
        code = ord(ch)
        if (
            unicodedata.category(ch) in ("Cc", "Cf")
            or code in BLANK_GLYPHS
            or any(low <= code <= high for low, high in DEFAULT_IGNORABLE)
        ):
            return ch
    return None


def validate_identifier(value: str) -> None:
    """The model field validator: the admin and the commands refuse what SCIM refuses."""
    if (ch := invisible_character(value)) is not None:
        raise ValidationError(
            "Contains an invisible or control character (U+%(code)04X).",
            code="invisible_character",
            params={"code": ord(ch)},
        )
