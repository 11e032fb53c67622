"""What a lyrics request asks for, and its defaults: the one place the command line, the
bot's settings and the generator read them from (imports nothing heavy, so `--help` stays
fast)."""

from __future__ import annotations

from dataclasses import dataclass

STRONGEST_STYLE = 10.0  # the top of the bot's style range (Stronger style stops there)
MAX_CANDIDATES = 8  # a request's candidates share its batch: each is a row, twice with guidance


@dataclass(frozen=True)
class LyricsRequest:
    """How a reply is written. The style defaults were chosen by the quality report on the
    shipped model (docs/REPORT.md): among the settings within 0.3 bits/char of plain
    sampling's fluency, the one missing the fewest targets (attribution as often as real
    unseen songs, real words, whole lines, choruses, rhymes, copying ≤ 1%), then the best
    attributed: style 8 with min-p 0.05, plausibility 0.02 and the best of 8 candidates
    meets them all. Without the plausibility cut strong guidance invents words; a stronger
    cut copies training lyrics more often."""

    artist: str | None = None
    prime: str = ""
    temperature: float = 0.8
    length: int = 500  # characters to write after the prime
    seed: int | None = None
    top_k: int | None = None
    style: float = 8.0  # guidance: 0 any artist, 1 conditional, > 1 stronger style
    style_ramp: int = 60  # characters from the song start over which s rises from 1
    min_p: float = 0.05  # drop characters under this share of the likeliest one's probability
    plausibility: float = 0.02  # guidance writes no character the artist's model puts under this share
    recall: float = 1.0  # how strongly a line goes on like an earlier one (ml.text.shape)
    rhyme: float = 1.0  # share of a rhyming word's end moved to a line end (ml.text.shape)
    candidates: int = 8  # replies written side by side; the one the lexicon rates best is returned
