"""What a reply must not show as the model wrote it: slurs, cut out (the whole line) wherever
they appear, and profanity, masked as f*** except where a server or an age-restricted
channel allows it. Both lists are whole words, any case, with their common inflections."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

# Slurs (racial, ethnic, homophobic, transphobic, ableist), ROT13-encoded so that reading
# the source does not display them; decoded once here. tests/ml/test_safety.py checks each.
_SLURS_ROT13 = (
    "(?:fnaq)?a[v1]tt(?:n|nu|nm|nf|hu|re|he)f?",
    "puvaxf?",
    "tbbxf?",
    "fcv(?:p|px)f?",
    "xvxrf?",
    "jrgonpxf?",
    "ornaref?",
    "(?:ent|gbjry)urnqf?",
    "wvtnobbf?",
    "mvccreurnqf?",
    "cnxvf?",
    "wncf?",
    "pbbaf?",
    "snt(?:f|tbg|tbgf|tl)?",
    "qlxrf?",
    "genaa(?:l|vrf)",
    "furznyrf?",
    "ergneq(?:f|rq)?",
)
PROFANE_WORDS = (
    r"\w*fuck\w*",
    r"m[ou]th[ae]r?f[uo]?(?:ck|cc|k)\w*",
    r"\w*shit\w*",
    r"bitch\w*",
    r"cunts?",
    r"assholes?",
    r"dick(?:s|head|heads)?",
    r"puss(?:y|ies)",
    r"bastards?",
    r"whores?",
    r"sluts?",
    r"hoes?",
    r"thots?",
    r"piss(?:es|ed|ing)?",
)
SLUR = re.compile(
    r"\b(?:" + "|".join(codecs.decode(p, "rot13") for p in _SLURS_ROT13) + r")\b", re.IGNORECASE
)
PROFANITY = re.compile(r"\b(?:" + "|".join(PROFANE_WORDS) + r")\b", re.IGNORECASE)
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")  # letters, inner apostrophes: "don't" is one


def without_slurs(text: str) -> tuple[str, int]:
    """The text with every line that holds a slur left out, and how many lines were."""
    lines = text.split("\n")
    kept = [line for line in lines if not SLUR.search(line)]
    return "\n".join(kept), len(lines) - len(kept)


def profanity_rate(texts: Iterable[str]) -> float:
    """Profane words per 1,000 words over `texts` (0 when they hold no words)."""
    profane = found = 0
    for text in texts:
        profane += len(PROFANITY.findall(text))
        found += len(WORD.findall(text))
    return 1000 * profane / found if found else 0.0


def within_swearing(text: str, per_1000_words: float, keep_lines: int = 0) -> tuple[str, int]:
    """The text swearing at most `per_1000_words` profane words per 1,000 words: lines that
    swear past that are left out (never the first `keep_lines`, the user's own start); at 0
    every line that swears goes. A masked word is still a word the artist would not say."""
    lines = text.split("\n")
    clean_words = sum(len(WORD.findall(line)) for line in lines if not PROFANITY.search(line))
    allowed = int(per_1000_words * clean_words / 1000)  # each line kept only lowers the rate
    kept = lines[:keep_lines]
    for line in lines[keep_lines:]:
        profane = len(PROFANITY.findall(line))
        if profane > allowed:
            continue
        allowed -= profane
        kept.append(line)
    return "\n".join(kept), len(lines) - len(kept)


def swears(words: Iterable[str]) -> bool:
    """Whether any of `words` (an artist's vocabulary) is profane."""
    return any(PROFANITY.fullmatch(word) for word in words)


def masked(text: str) -> tuple[str, int]:
    """Every profane word masked to its first letter and asterisks, and how many were."""
    count = 0

    def mask(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        word = match.group()
        return word[0] + "*" * (len(word) - 1)

    return PROFANITY.sub(mask, text), count
