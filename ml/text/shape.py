"""Song shape while sampling: lines that come back (choruses) and line ends that rhyme.

A character LSTM forgets a line it wrote a few lines back, so it almost never repeats one
(real songs repeat 4–24% of theirs), and it ends a line wherever its length runs out, so
its line ends rhyme less often than real ones. Both are nudged from what the reply itself
holds; nothing is copied from outside it, and the model can always go its own way.

- **Recall** is the continuous-cache idea (Grave et al., 2017) on the reply's own lines:
  once the line being written matches the start of an earlier line over at least
  MIN_PREFIX characters, that earlier line's next character gets probability mass
  λ = recall · (1 − 2^(−matched / HALF_MATCH)), the model's distribution the rest; a
  line already written MAX_RECALLED times is left to the model (a chorus, not a loop), and
  so is a line holding a word outside the model's word list (a garbled line is not a chorus
  worth repeating).
- **Rhyme** acts where a word may end: when the word just written rhymes with one of the
  last two line ends (another word, same last vowels and after) and the line is long
  enough, a share `rhyme` of the chance that the word ends here goes to ending the line.
  Mass on letters (the word going on) is untouched, so no word is cut short.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from ml.text.quality import RHYME_REACH, rhyme_key, rhymes, words

MIN_PREFIX = 5  # characters a line must share with an earlier one before recall starts
MAX_RECALLED = 3  # a line written this often already is not pulled back again (no loops)
HALF_MATCH = 3  # characters of match that take λ halfway to its strength
MIN_RHYME_KEY = 2  # letters of last vowels and after two words must share to rhyme
MIN_RHYMING_LINE = 0.6  # a line may end on a rhyme from this share of the mean line length
_TRAILING_WORD = re.compile(r"[A-Za-z']+$")


class SongShape:
    """Per request: its finished lines and the line being written (prime included)."""

    def __init__(
        self,
        primes: list[str],
        recall: list[float],
        rhyme: list[float],
        chars: list[str],
        is_word: Callable[[str], bool] | None = None,
    ) -> None:
        """`chars`: each token id's character ("" for the special tokens); `is_word`: whether
        a word is in the model's word list (None: every word is)."""
        self.is_word = is_word
        self.recall_strengths = recall
        self.rhyme_strengths = rhyme
        self.char_ids = {ch: i for i, ch in enumerate(chars) if ch}
        self.line_end = self.char_ids["\n"]
        # Tokens that end a word: all but letters, apostrophes and the special tokens.
        ends = [bool(ch) and not (ch.isalpha() or ch == "'") for ch in chars]
        self.word_ends = torch.tensor(ends).nonzero().flatten()
        self.lines: list[list[str]] = []
        self.recallable: list[list[str]] = []  # the lines of real words, the ones recall follows
        self.current: list[str] = []
        # Read every step by rhyme_breaks, so kept as lines finish: each line's last word
        # ("" if it has none) and the lines' total length.
        self.end_words: list[list[str]] = []
        self.line_chars: list[int] = []
        for prime in primes:
            *done, open_line = prime.split("\n")
            self.lines.append([])
            self.recallable.append([])
            self.end_words.append([])
            self.line_chars.append(0)
            self.current.append(open_line)
            for line in done:
                self._finish(len(self.lines) - 1, line)

    def add(self, row: int, char: str) -> None:
        """Record a character request `row` wrote."""
        if char == "\n":
            self._finish(row, self.current[row])
            self.current[row] = ""
        else:
            self.current[row] += char

    def _finish(self, row: int, line: str) -> None:
        if line.strip():
            self.lines[row].append(line)
            found = words(line)
            if self.is_word is None or all(map(self.is_word, found)):
                self.recallable[row].append(line)
            self.end_words[row].append(found[-1] if found else "")
            self.line_chars[row] += len(line)

    def reshape(self, probs: torch.Tensor, rows: list[int]) -> torch.Tensor:
        """`probs` (B, V) with recall and rhyme mixed in for the sampling `rows`."""
        recalled = self.recall(rows)
        if recalled:  # most steps recall nothing: no tensor work then
            at = torch.tensor(list(recalled))
            tokens = torch.tensor([token for token, _ in recalled.values()])
            weights = torch.tensor([weight for _, weight in recalled.values()])
            probs[at] *= 1 - weights[:, None]
            probs[at, tokens] += weights
        shares = self.rhyme_breaks(rows)
        if shares:
            breaking, share = torch.tensor(list(shares)), torch.tensor(list(shares.values()))
            at = (breaking.unsqueeze(1), self.word_ends)
            ends = probs[at]
            probs[at] = ends * (1 - share[:, None])
            probs[breaking, self.line_end] += share * ends.sum(dim=-1)
        return probs

    def recall(self, rows: list[int]) -> dict[int, tuple[int, float]]:
        """Row → (the recalled line's next token, its weight λ), for the rows recalling a
        line. A line matching several earlier ones follows the latest."""
        recalled = {}
        for row in rows:
            line, strength = self.current[row], self.recall_strengths[row]
            if strength <= 0 or len(line) < MIN_PREFIX:
                continue
            for earlier in reversed(self.recallable[row]):
                if earlier.startswith(line) and self.lines[row].count(earlier) < MAX_RECALLED:
                    following = earlier[len(line)] if len(earlier) > len(line) else "\n"
                    if following in self.char_ids:
                        recalled[row] = (
                            self.char_ids[following],
                            strength * (1 - 2 ** (-len(line) / HALF_MATCH)),
                        )
                    break
        return recalled

    def rhyme_breaks(self, rows: list[int]) -> dict[int, float]:
        """Row → the share of its word-end mass to move to a line end, for the rows where a
        rhyming word may end the line."""
        shares = {}
        for row in rows:
            line, lines, strength = self.current[row], self.lines[row], self.rhyme_strengths[row]
            if strength <= 0 or not lines or len(line) < MIN_RHYMING_LINE * self.line_chars[row] / len(lines):
                continue
            word = _TRAILING_WORD.search(line)
            if word is None:
                continue
            last = words(word.group())
            key = rhyme_key(last[-1]) if last else ""
            if len(key) < MIN_RHYME_KEY:  # "the" and "me" share only an "e"
                continue
            if any(end and rhymes(end, last[-1]) for end in self.end_words[row][-RHYME_REACH:]):
                shares[row] = strength
        return shares
