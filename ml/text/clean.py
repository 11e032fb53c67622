"""Text as people mean it: names compared the way a reader compares them, and user text
with the invisible characters that can disguise it (bidi overrides, zero-width joiners,
byte-order marks: Unicode category Cf) removed."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def without_format_chars(text: str) -> str:
    """`text` without Cf characters: a right-to-left override can make echoed text display
    reversed, a zero-width space can make two names look alike."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def name_key(name: str) -> str:
    """What two spellings of a name share when a reader would call them the same: NFKC
    (fullwidth ＡＢＢＡ is ABBA), case folded, format characters gone, whitespace (no-break
    spaces included) collapsed to one space."""
    folded = unicodedata.normalize("NFKC", without_format_chars(name)).casefold()
    return _SPACES.sub(" ", folded).strip()


def artist_key(name: str) -> str:
    """An artist's name_key without a leading "the": one file's "The Beatles" is another's
    "Beatles", and a user may type either."""
    return name_key(name).removeprefix("the ")
