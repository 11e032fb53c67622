"""Text as people mean it: names compared the way a reader compares them, and user text
with the invisible characters that can disguise it (bidi overrides, zero-width joiners,
byte-order marks: Unicode category Cf) removed."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]")


def without_format_chars(text: str) -> str:
    """`text` without Cf characters: a right-to-left override can make echoed text display
    reversed, a zero-width space can make two names look alike."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def start_letters(start: str, known: set[str]) -> tuple[int, int]:
    """(letters in `start`, how many of them are not among the `known` characters): a start
    with no letter at all (blank, emoji, punctuation) says nothing to write on from."""
    letters = [ch for ch in start if ch.isalpha()]
    return len(letters), sum(ch not in known for ch in letters)


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


def loose_key(name: str) -> str:
    """An artist_key as people type it on a phone: accents gone ("beyonce" is Beyoncé), "$"
    read as s (A$AP), "&" as "and", other punctuation dropped ("guns n roses")."""
    decomposed = unicodedata.normalize("NFKD", artist_key(name))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _NOT_WORD.sub("", plain.replace("$", "s").replace("&", " and "))
    return _SPACES.sub(" ", plain).strip().removeprefix("the ")
