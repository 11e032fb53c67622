"""Character vocabulary with start-of-song, end-of-song and unknown tokens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

BOS, EOS, UNK = 0, 1, 2
SPECIAL_TOKENS = ("<bos>", "<eos>", "<unk>")
MIN_CHAR_SHARE = 1e-6  # in a large corpus, a character rarer than this is noise (a stray 中): <unk>


@dataclass(frozen=True)
class Encoded:
    """Token ids for a text, and the characters that had to become <unk>."""

    ids: list[int]
    unknown: list[str]


class Vocab:
    """Maps characters to ids; ids 0-2 are the special tokens."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars: list[str] = list(chars)
        self._index = {ch: i + len(SPECIAL_TOKENS) for i, ch in enumerate(self.chars)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 3) -> Vocab:
        """Characters seen at least `min_count` times and at least once per million
        characters (MIN_CHAR_SHARE), most frequent first."""
        counts = Counter()
        for text in texts:
            counts.update(text)
        needed = max(min_count, MIN_CHAR_SHARE * sum(counts.values()))
        kept = [ch for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        return cls(ch for ch in kept if counts[ch] >= needed)

    def extended(self, texts: Iterable[str], min_count: int = 3) -> Vocab:
        """This vocabulary plus the characters of `texts` it lacks (kept by `build`'s rule),
        appended so every id it had keeps its meaning."""
        new = [ch for ch in Vocab.build(texts, min_count).chars if ch not in self._index]
        return Vocab([*self.chars, *new])

    def __len__(self) -> int:
        return len(SPECIAL_TOKENS) + len(self.chars)

    def encode(self, text: str) -> Encoded:
        """Every character gets an id; unknown ones map to <unk> and are reported once each."""
        ids = [self._index.get(ch, UNK) for ch in text]
        unknown = sorted({ch for ch in text if ch not in self._index})
        return Encoded(ids, unknown)

    def decode(self, ids: Iterable[int]) -> str:
        """Text for the ids; <unk> becomes U+FFFD and the boundary tokens vanish."""
        offset = len(SPECIAL_TOKENS)
        out = []
        for i in ids:
            if i >= offset:
                out.append(self.chars[i - offset])
            elif i == UNK:
                out.append("\ufffd")
        return "".join(out)

    def to_list(self) -> list[str]:
        return list(self.chars)
