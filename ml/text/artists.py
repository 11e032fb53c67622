"""One place that knows the artists of a lyrics model: resolving what a user typed to a
name the model knows, suggesting close matches, and ranking names for autocomplete.

What people type is matched the way a reader would: the name itself in any case; the
name without accents or punctuation ("beyonce", "guns n roses"); a part that names one
artist alone ("Kanye", "Gaga"); one clear typo ("Tayor Swift"). The last two are told
back to the user (`ArtistMatch.inexact`). A part or a typo that fits several artists
equally is a question, not a guess (`AmbiguousArtistError` with the candidates).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ml.errors import UnknownArtistError, shorten
from ml.text.clean import artist_key, loose_key, name_key

ANY_ARTIST = "<any artist>"  # index 0 of a conditional model's artist table
SUGGESTIONS = 5
FUZZY_CUTOFF = 0.75  # "Bad Bunny" is not "Bad Company"
MIN_PART_CHARS = 3  # a shorter part names nobody in particular
CHOICES = 5  # candidates offered for an ambiguous name
SUGGEST_TYPOS = 2  # a name this many slips away is worth suggesting


class AmbiguousArtistError(UnknownArtistError):
    """A name that fits several artists equally well: the user picks one."""

    def __init__(self, name: str, candidates: list[str]) -> None:
        super().__init__(name, candidates)
        self.args = (f"{shorten(name)!r} could be {_either(candidates)}; which one did you mean?",)


@dataclass(frozen=True)
class ArtistMatch:
    name: str | None  # as the model knows it; None: any artist
    index: int
    how: Literal["any", "exact", "part", "typo", "stand_in"]
    stand_in_for: str | None = None  # the artist the model does not know, written for as `name`

    @property
    def inexact(self) -> bool:
        """Read as someone else's name than was typed: worth telling the user."""
        return self.how in ("part", "typo", "stand_in")


class ArtistTable:
    """Artist names in the model's index order; index 0 is "any artist" when conditional."""

    def __init__(
        self,
        names: Iterable[str],
        song_counts: dict[str, int] | None = None,
        stand_ins: dict[str, str] | None = None,
    ) -> None:
        self.names = list(names)
        # Artists the model does not know, each with the known one it writes in their stead.
        self.stand_ins = {loose_key(name): (name, known) for name, known in (stand_ins or {}).items()}
        self.song_counts = {a: (song_counts or {}).get(a, 0) for a in self.artists}
        self._index = {artist_key(a): i for i, a in enumerate(self.names) if a != ANY_ARTIST}
        loose: dict[str, list[int]] = {}
        for i, a in enumerate(self.names):
            if a != ANY_ARTIST:
                loose.setdefault(loose_key(a), []).append(i)
        self._loose = loose

    @property
    def artists(self) -> list[str]:
        """The artists a user can ask for, without "any artist"."""
        return [a for a in self.names if a != ANY_ARTIST]

    def __len__(self) -> int:
        return len(self.names)

    def resolve(self, typed: str | None) -> tuple[str | None, int]:
        """(name as the model knows it, index); None or blank is any artist (index 0).

        Raises UnknownArtistError carrying close matches (AmbiguousArtistError: several fit).
        """
        found = self.match(typed)
        return found.name, found.index

    def match(self, typed: str | None) -> ArtistMatch:
        """The artist `typed` names, and how it was recognised (see the module docstring)."""
        if typed is None or not name_key(typed):
            return ArtistMatch(None, 0, "any")
        index = self._index.get(artist_key(typed))
        if index is not None:
            return ArtistMatch(self.names[index], index, "exact")
        query = loose_key(typed)
        same = self._loose.get(query, [])
        if len(same) == 1:
            return ArtistMatch(self.names[same[0]], same[0], "exact")
        if query in self.stand_ins and self.stand_ins[query][1] in self.song_counts:
            unknown, known = self.stand_ins[query]
            return ArtistMatch(known, self.names.index(known), "stand_in", unknown)
        for how, found in (("part", self._by_part(query)), ("typo", self._by_typo(query))):
            if len(found) == 1:
                return ArtistMatch(found[0], self.names.index(found[0]), how)
            if found:
                raise AmbiguousArtistError(typed, self._popular_first(found)[:CHOICES])
        raise UnknownArtistError(typed, self.suggest(typed))

    def _by_part(self, query: str) -> list[str]:
        """Artists whose name holds `query` as whole words ("kanye", "lady ga" no, "gaga" yes)."""
        if len(query) < MIN_PART_CHARS:
            return []
        padded = f" {query} "
        return [a for key, ids in self._loose.items() if padded in f" {key} " for a in self._names(ids)]

    def _by_typo(self, query: str) -> list[str]:
        """Artists one slip of the finger away (two for long names), the nearest only."""
        allowed = 1 if len(query) <= 6 else 2
        distances: dict[int, list[str]] = {}
        for key, ids in self._loose.items():
            if abs(len(key) - len(query)) <= allowed:
                d = typo_distance(query, key, allowed)
                if d <= allowed:
                    distances.setdefault(d, []).extend(self._names(ids))
        return distances[min(distances)] if distances else []

    def _names(self, ids: list[int]) -> list[str]:
        return [self.names[i] for i in ids]

    def _popular_first(self, names: list[str]) -> list[str]:
        return sorted(names, key=lambda a: (-self.song_counts.get(a, 0), a))

    def spelling(self, name: str) -> str | None:
        """The table's spelling of an artist named in data ("Beatles" for "The Beatles"), or None."""
        index = self._index.get(artist_key(name))
        return None if index is None else self.names[index]

    def extended(self, names: Iterable[str]) -> list[str]:
        """This table's names, then those of `names` it lacks: the ids it had stay the same."""
        return [*self.names, *(name for name in names if name != ANY_ARTIST and self.spelling(name) is None)]

    def suggest(self, typed: str, limit: int = SUGGESTIONS) -> list[str]:
        """Names that look like `typed`: substring hits first, then fuzzy ones, the better
        known first among equally close ones."""
        return close_matches(typed, self.artists, limit, self.song_counts)

    def ranked(self, typed: str) -> list[str]:
        """Every name worth offering while the user types: names starting with it, then
        names containing it, then fuzzy matches; with nothing typed, best-known first."""
        query = name_key(typed)
        if not query:
            return sorted(self.artists, key=lambda a: (-self.song_counts[a], a))
        loose = loose_key(typed)
        prefix = [a for a in self.artists if name_key(a).startswith(query) or loose_key(a).startswith(loose)]
        stand_ins = sorted(name for key, (name, _) in self.stand_ins.items() if key.startswith(loose))
        ranked = self._popular_first(prefix) + self.suggest(typed, limit=len(self.names)) + stand_ins
        return list(dict.fromkeys(ranked))


def close_matches(
    name: str, candidates: list[str], limit: int = SUGGESTIONS, popularity: dict[str, int] | None = None
) -> list[str]:
    """Candidates that look like `name`: substring hits first (the better known first),
    then those a few slips away (SUGGEST_TYPOS), then fuzzy ones, closest first."""
    lowered = loose_key(name)
    by_key = {loose_key(c): c for c in candidates}
    counts = popularity or {}
    substring = sorted(
        (c for key, c in by_key.items() if lowered and lowered in key), key=lambda c: -counts.get(c, 0)
    )
    slips = sorted(
        (d, -counts.get(c, 0), c)
        for key, c in by_key.items()
        if abs(len(key) - len(lowered)) <= SUGGEST_TYPOS
        and (d := typo_distance(lowered, key, SUGGEST_TYPOS)) <= SUGGEST_TYPOS
    )
    fuzzy = difflib.get_close_matches(lowered, list(by_key), n=limit, cutoff=FUZZY_CUTOFF)
    ordered = substring + [c for _, _, c in slips] + [by_key[key] for key in fuzzy]
    return list(dict.fromkeys(ordered))[:limit]


def typo_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b, or limit + 1
    once it is surely more than `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
