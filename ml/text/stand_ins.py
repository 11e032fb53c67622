"""Artists the model was not conditioned on, but who have a handful of songs in the data:
each gets the known artist whose words theirs are most like, to write in their stead.

A song credits everyone in its artist field ("Calvin Harris & Dua Lipa" credits both, as do
"feat.", "featuring", "ft." and " x "). A credited name with at least MIN_STAND_IN_SONGS songs
that the model's artist table does not know is matched to the known artist whose songs use
words most like theirs (TF-IDF vectors of each artist's songs, English stop words out).
The map is small and kept in the checkpoint (`scripts/attach_artist_facts.py`); the reply
says whose style it is written in, and for whom.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from ml.text.artists import ArtistTable
from ml.text.data import Song

MIN_STAND_IN_SONGS = 8
_CREDIT_SPLIT = re.compile(r"\s+(?:&|feat\.?|featuring|ft\.?|x)\s+", re.IGNORECASE)


def credits(artist: str) -> list[str]:
    """Everyone a song's artist field names: the whole field, then each credited part."""
    parts = [p.strip() for p in _CREDIT_SPLIT.split(artist) if p.strip()]
    return list(dict.fromkeys([artist.strip(), *parts]))


def stand_ins(
    songs: Iterable[Song], table: ArtistTable, min_songs: int = MIN_STAND_IN_SONGS
) -> dict[str, str]:
    """Unknown credited name → the known artist to write in their stead: the nearest by
    cosine between the two artists' songs as TF-IDF word vectors."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts: dict[str, list[str]] = {}
    song_counts: Counter[str] = Counter()
    for song in songs:  # a known artist by their own songs, as the model learnt them
        known = table.spelling(song.artist)
        names = [known] if known else [n for n in credits(song.artist) if table.spelling(n) is None]
        for name in names:
            texts.setdefault(name, []).append(song.text)
            song_counts[name] += 1
    known_names = [name for name in table.artists if name in texts]
    wanted = sorted(
        name for name, n in song_counts.items() if n >= min_songs and table.spelling(name) is None
    )
    if not known_names or not wanted:
        return {}
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2)
    matrix = vectorizer.fit_transform(["\n".join(texts[name]) for name in [*known_names, *wanted]])
    similarity = matrix[len(known_names) :] @ matrix[: len(known_names)].T  # rows are unit length
    nearest = np.asarray(similarity.argmax(axis=1)).ravel()
    return {name: known_names[i] for name, i in zip(wanted, nearest, strict=True)}
