"""Which of several candidate replies reads most like the artist: a word-level judge.

For each artist, how much more often than in all the training text the artist uses each
word they used at least twice: log p(word | artist) / p(word), with p(word | artist)
smoothed towards p(word) (a Dirichlet prior of PRIOR_WORDS words), over the words seen at
least MIN_WORD_COUNT times in the training text. A candidate scores the mean of that over
its words, where a word outside the list (a garbled one, "tas Tomorro") costs NON_WORD,
plus RHYME_WEIGHT times its rhyme rate (ml.text.quality).

The character model's own artist gain, log p(c | artist) − log p(c | any artist) per
character, was the judge before: it favoured rare, half-formed words and bought little
attribution. Words are what a reader (and an artist classifier) recognises an artist by.
Built from the training songs when a model is trained and kept in its checkpoint.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch

from ml.text.quality import MIN_WORD_COUNT, rhyme_rate, words
from ml.text.safety import PROFANITY

if TYPE_CHECKING:
    from ml.text.data import Song

MIN_ARTIST_COUNT = 2  # a word the artist used once says little about them
PRIOR_WORDS = 2000.0  # the smoothing prior's weight, in words
NON_WORD = -4.0  # a word never (or rarely) seen in the training text
SWEARING = -1.0  # a profane word: never evidence of the artist, a little against a candidate
RHYME_WEIGHT = 0.2  # a reply whose every line rhymes earns this much more


class ArtistLexicon:
    """Per-artist word affinities, stored sparse: artist a's entries are
    `word_ids[offsets[a]:offsets[a + 1]]` with `affinity` beside them (artist 0, "any
    artist", has none)."""

    def __init__(
        self, vocabulary: list[str], offsets: torch.Tensor, word_ids: torch.Tensor, affinity: torch.Tensor
    ) -> None:
        self.vocabulary = vocabulary
        self.offsets = offsets
        self.word_ids = word_ids
        self.affinity = affinity
        self._known = set(vocabulary)
        self._tables: dict[int, dict[str, float]] = {}

    @classmethod
    def build(cls, songs: Iterable[Song], artists: list[str]) -> ArtistLexicon:
        """From training songs; a song by an artist outside `artists` (the model's table, in
        index order) counts only towards the whole text's word frequencies."""
        index = {name: i for i, name in enumerate(artists)}
        per_artist: list[Counter[str]] = [Counter() for _ in artists]
        total: Counter[str] = Counter()
        for song in songs:
            found = words(song.text)
            total.update(found)
            if song.artist in index:
                per_artist[index[song.artist]].update(found)
        vocabulary = sorted(word for word, n in total.items() if n >= MIN_WORD_COUNT)
        ids = {word: i for i, word in enumerate(vocabulary)}
        all_words = sum(total[word] for word in vocabulary)
        offsets, word_ids, affinity = [0], [], []
        for i, counts in enumerate(per_artist):
            known = {word: n for word, n in counts.items() if word in ids} if i else {}
            size = sum(known.values())
            for word, n in sorted(known.items()):
                if n >= MIN_ARTIST_COUNT:
                    p = total[word] / all_words
                    word_ids.append(ids[word])
                    affinity.append(math.log((n + PRIOR_WORDS * p) / (size + PRIOR_WORDS) / p))
            offsets.append(len(word_ids))
        return cls(
            vocabulary,
            torch.tensor(offsets, dtype=torch.int64),
            torch.tensor(word_ids, dtype=torch.int32),
            torch.tensor(affinity, dtype=torch.float16),
        )

    @property
    def artists(self) -> int:
        return len(self.offsets) - 1

    def is_word(self, word: str) -> bool:
        """Whether `word` (lower case, as ml.text.quality.words gives it) is in the word list."""
        return word in self._known

    def words_of(self, artist: int) -> set[str]:
        """The words artist `artist` used at least MIN_ARTIST_COUNT times in training."""
        return set(self._table(artist))

    def score(self, text: str, artist: int) -> float:
        """How much `text` reads like artist `artist` (an index of the model's table)."""
        found = words(text)
        if not found:
            return NON_WORD
        table = self._table(artist)
        total = sum(self._affinity(table, word) for word in found)
        return total / len(found) + RHYME_WEIGHT * (rhyme_rate(text) or 0.0)

    def _affinity(self, table: dict[str, float], word: str) -> float:
        """A word's evidence of the artist. Swearing is never evidence, and counts a little
        against a candidate: else the judge picks, of the candidates, the one that swears
        most, and an artist who swears now and then would swear in every line."""
        if word not in self._known:
            return NON_WORD
        value = table.get(word, 0.0)
        return SWEARING if PROFANITY.fullmatch(word) else value

    def _table(self, artist: int) -> dict[str, float]:
        if artist >= self.artists:  # an unconditional model's "any artist"
            return {}
        if artist not in self._tables:
            start, end = int(self.offsets[artist]), int(self.offsets[artist + 1])
            ids = self.word_ids[start:end].tolist()
            values = self.affinity[start:end].float().tolist()
            self._tables[artist] = {self.vocabulary[i]: v for i, v in zip(ids, values, strict=True)}
        return self._tables[artist]

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and tensors, so a checkpoint holding it loads with weights_only=True."""
        return {
            "vocabulary": self.vocabulary,
            "offsets": self.offsets,
            "word_ids": self.word_ids,
            "affinity": self.affinity,
        }

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> ArtistLexicon:
        return cls(list(saved["vocabulary"]), saved["offsets"], saved["word_ids"], saved["affinity"])
