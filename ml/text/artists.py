"""One place that knows the artists of a lyrics model: resolving what a user typed to a
name the model knows, suggesting close matches, and ranking names for autocomplete."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ml.errors import UnknownArtistError
from ml.text.clean import artist_key, name_key

ANY_ARTIST = "<any artist>"  # index 0 of a conditional model's artist table
SUGGESTIONS = 5
FUZZY_CUTOFF = 0.6


class ArtistTable:
    """Artist names in the model's index order; index 0 is "any artist" when conditional."""

    def __init__(self, names: Iterable[str], song_counts: dict[str, int] | None = None) -> None:
        self.names = list(names)
        self.song_counts = {a: (song_counts or {}).get(a, 0) for a in self.artists}
        self._index = {artist_key(a): i for i, a in enumerate(self.names) if a != ANY_ARTIST}

    @property
    def artists(self) -> list[str]:
        """The artists a user can ask for, without "any artist"."""
        return [a for a in self.names if a != ANY_ARTIST]

    def __len__(self) -> int:
        return len(self.names)

    def resolve(self, typed: str | None) -> tuple[str | None, int]:
        """(name as the model knows it, index); None or blank is any artist (index 0).

        Raises UnknownArtistError carrying close matches.
        """
        if typed is None or not name_key(typed):
            return None, 0
        index = self._index.get(artist_key(typed))
        if index is None:
            raise UnknownArtistError(typed, self.suggest(typed))
        return self.names[index], index

    def spelling(self, name: str) -> str | None:
        """The table's spelling of an artist named in data ("Beatles" for "The Beatles"), or None."""
        index = self._index.get(artist_key(name))
        return None if index is None else self.names[index]

    def extended(self, names: Iterable[str]) -> list[str]:
        """This table's names, then those of `names` it lacks: the ids it had stay the same."""
        return [*self.names, *(name for name in names if name != ANY_ARTIST and self.spelling(name) is None)]

    def suggest(self, typed: str, limit: int = SUGGESTIONS) -> list[str]:
        """Names that look like `typed`: substring hits first, then fuzzy ones."""
        return close_matches(typed, self.artists, limit)

    def ranked(self, typed: str) -> list[str]:
        """Every name worth offering while the user types: names starting with it, then
        names containing it, then fuzzy matches; with nothing typed, best-known first."""
        query = name_key(typed)
        if not query:
            return sorted(self.artists, key=lambda a: (-self.song_counts[a], a))
        prefix = [a for a in self.artists if name_key(a).startswith(query)]
        return list(dict.fromkeys(prefix + self.suggest(typed, limit=len(self.names))))


def close_matches(name: str, candidates: list[str], limit: int = SUGGESTIONS) -> list[str]:
    """Candidates that look like `name`: substring hits first, then fuzzy ones."""
    lowered = name_key(name)
    by_key = {name_key(c): c for c in candidates}
    substring = [c for key, c in by_key.items() if lowered and lowered in key]
    fuzzy = difflib.get_close_matches(lowered, list(by_key), n=limit, cutoff=FUZZY_CUTOFF)
    matches = substring + [by_key[key] for key in fuzzy if by_key[key] not in substring]
    return matches[:limit]
