"""What a reader notices in a reply, as numbers: are the words words, do lines come back
(choruses), do line ends rhyme, is it shouting in Title Case.

Each figure is measured the same way on real unseen songs (cut to the reply's length at a
line end) and on replies, so the two can be compared; see ml.text.style for the report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ml.text.safety import profanity_rate
from ml.text.surface import MAX_WORD_REPEATS, is_balanced, is_vocable_line, most_repeats

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
CASED_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_LAST_VOWELS = re.compile(r"[aeiouy]+[^aeiouy]*$")
_NOT_WORD = re.compile(r"[\W_]+")
MIN_WORD_COUNT = 3  # a word seen this often in the training text counts as a real word
RHYME_REACH = 2  # a line rhymes when its last word rhymes with one of the two lines before


class WordList:
    """The words of the training text seen at least MIN_WORD_COUNT times, case folded."""

    def __init__(self, texts: Iterable[str], min_count: int = MIN_WORD_COUNT) -> None:
        counts = Counter(word for text in texts for word in words(text))
        self.words = {word for word, n in counts.items() if n >= min_count}

    def share(self, text: str) -> float | None:
        """Share of `text`'s words in the list (None when it has no words)."""
        found = words(text)
        return sum(w in self.words for w in found) / len(found) if found else None


def words(text: str) -> list[str]:
    """Word tokens, case folded: letters with inner apostrophes ("don't" is one word)."""
    return _WORD.findall(text.casefold())


def lines(text: str) -> list[str]:
    """The non-blank lines."""
    return [line.strip() for line in text.split("\n") if line.strip()]


def first_line(text: str) -> str:
    found = lines(text)
    return found[0] if found else ""


def repeat_rate(text: str) -> float | None:
    """Share of lines that repeat an earlier line of the same text (words only, case folded)."""
    keys = [_NOT_WORD.sub(" ", line.casefold()).strip() for line in lines(text)]
    keys = [k for k in keys if k]
    if len(keys) < 2:
        return None
    seen: set[str] = set()
    repeats = 0
    for key in keys:
        repeats += key in seen
        seen.add(key)
    return repeats / len(keys)


def rhyme_key(word: str) -> str:
    """The last vowel group and what follows it: "night" → "ight", "me" → "e"."""
    match = _LAST_VOWELS.search(word)
    return match.group() if match else word


def rhymes(word: str, other: str) -> bool:
    """Two different words with the same last vowels and after; the same word again is a
    repeat, not a rhyme."""
    return word != other and rhyme_key(word) == rhyme_key(other)


def rhyme_rate(text: str) -> float | None:
    """Share of lines (after the first) whose last word rhymes with the last word of one of
    the RHYME_REACH lines before it; the same word again is a repeat, not a rhyme."""
    ends = [found[-1] for found in (words(line) for line in lines(text)) if found]
    if len(ends) < 2:
        return None
    found = 0
    for i in range(1, len(ends)):
        before = ends[max(0, i - RHYME_REACH) : i]
        found += any(rhymes(w, ends[i]) for w in before)
    return found / (len(ends) - 1)


def title_case_share(text: str) -> float | None:
    """Share of words of two or more letters written Capitalised (not at a line start)."""
    found = [w for line in lines(text) for w in CASED_WORD.findall(line)[1:] if len(w) > 1]
    if not found:
        return None
    return sum(w[0].isupper() and w[1:].islower() for w in found) / len(found)


@dataclass(frozen=True)
class Figures:
    """Mean figures over a set of texts (None where no text had that figure)."""

    texts: int
    real_words: float | None
    first_line_real_words: float | None
    repeated_lines: float | None
    rhymes: float | None
    title_case: float | None
    vocable_lines: float | None = None  # share of all lines that are only oh/yeah/hey/la…
    word_runs: float | None = None  # share of texts with a line saying one word > 8 times
    balanced: float | None = None  # share of texts with every bracket and quote paired
    profanity_per_1000_words: float | None = None


def figures(texts: list[str], word_list: WordList) -> Figures:
    def mean(values: Iterable[float | None]) -> float | None:
        kept = [v for v in values if v is not None]
        return sum(kept) / len(kept) if kept else None

    all_lines = [line for t in texts for line in lines(t)]
    return Figures(
        texts=len(texts),
        real_words=mean(word_list.share(t) for t in texts),
        first_line_real_words=mean(word_list.share(first_line(t)) for t in texts),
        repeated_lines=mean(repeat_rate(t) for t in texts),
        rhymes=mean(rhyme_rate(t) for t in texts),
        title_case=mean(title_case_share(t) for t in texts),
        vocable_lines=sum(map(is_vocable_line, all_lines)) / len(all_lines) if all_lines else None,
        word_runs=mean(any(most_repeats(line) > MAX_WORD_REPEATS for line in lines(t)) for t in texts),
        balanced=mean(is_balanced(t) for t in texts),
        profanity_per_1000_words=profanity_rate(texts) if texts else None,
    )
