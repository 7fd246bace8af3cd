"""Text canonicalisation shared by every case-insensitive identifier (userName, group names)."""

import unicodedata


def case_insensitive_key(value: str) -> str:
    """The form two identifiers must share to be "the same" when case does not matter.

    NFKC maps compatibility forms (fullwidth letters, ligatures) to their plain form, as PRECIS
    width mapping does (RFC 7644 §7.8), and `casefold` is Unicode's caseless matching, which
    `lower()` is not (`ß` vs `SS`). Computed in Python so SQLite and PostgreSQL agree whatever
    their collation; the result is stored in an indexed column so lookups stay index-backed.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
