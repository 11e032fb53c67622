"""How recognisably a lyrics model writes like an artist: the style report.

An artist classifier (character 2–5-gram TF-IDF + logistic regression) learns the top-K
artists from their training songs. It then labels real validation songs cut to the sample
length (the reference: what unseen songs of those artists score) and the model's samples
for each artist at each guidance strength. Beside the accuracy, each strength reports how
fluent the samples are (bits/char under the "any artist" model: style must not be bought
with garbage) and how often they copy a long verbatim span of the training text.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ml.errors import BalladeerError
from ml.sequences import padded_batch
from ml.text.data import Song, read_songs, spelled_as, split_songs
from ml.text.generate import LyricsGenerator, LyricsRequest
from ml.text.style_config import StyleReportConfig
from ml.text.vocab import BOS, EOS

log = logging.getLogger(__name__)

SAMPLE_BATCH = 64


class ArtistClassifier:
    """Character n-gram TF-IDF + logistic regression over K artists."""

    def __init__(self, artists: list[str], seed: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer  # heavy; only the report needs it
        from sklearn.linear_model import LogisticRegression

        self.artists = artists
        self.vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=300_000
        )
        self.model = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)

    def fit(self, texts: list[str], labels: list[str]) -> ArtistClassifier:
        self.model.fit(self.vectorizer.fit_transform(texts), labels)
        return self

    def predict(self, texts: list[str]) -> list[str]:
        return list(self.model.predict(self.vectorizer.transform(texts)))


class CopyDetector:
    """Finds verbatim spans of at least `span` characters shared with the training text."""

    def __init__(self, texts: list[str], span: int) -> None:
        self.span = span
        self.corpus = "\x00".join(texts)
        self._windows = {hash(t[i : i + span]) for t in texts for i in range(len(t) - span + 1)}

    def longest(self, text: str) -> int:
        """Length of the longest span of `text` found in the training text (0 if < span)."""
        best = 0
        i = 0
        while i + self.span <= len(text):
            window = text[i : i + self.span]
            if hash(window) in self._windows and window in self.corpus:
                end = i + self.span
                while end < len(text) and text[i : end + 1] in self.corpus:
                    end += 1
                best = max(best, end - i)
                i = end - self.span + 1
            else:
                i += 1
        return best


def chunks(text: str, length: int) -> list[str]:
    """`text` cut into pieces of `length` characters (a shorter tail kept if half as long)."""
    pieces = [text[i : i + length] for i in range(0, len(text), length)]
    return [p for p in pieces if len(p) >= length // 2]


@torch.no_grad()
def any_artist_bits_per_char(generator: LyricsGenerator, texts: list[str]) -> float:
    """Bits per character of `texts` (each read from a song start) under the "any artist" model."""
    model, vocab = generator.model, generator.vocab
    total_nats, total_chars = 0.0, 0
    for start in range(0, len(texts), SAMPLE_BATCH):
        rows = [torch.tensor([BOS, *vocab.encode(t).ids, EOS]) for t in texts[start : start + SAMPLE_BATCH]]
        batch = padded_batch(rows, torch.zeros(len(rows), dtype=torch.long)).to(generator.device)
        logits, _ = model(batch.inputs, batch.context)
        nll = F.cross_entropy(logits.float().transpose(1, 2), batch.targets, reduction="none")
        total_nats += float((nll * batch.mask).sum())
        total_chars += int(batch.mask.sum())
    return total_nats / max(total_chars, 1) / math.log(2)


def _sample(
    generator: LyricsGenerator, artists: list[str | None], config: StyleReportConfig, style: float
) -> list[str]:
    requests = [
        LyricsRequest(
            artist=a,
            temperature=config.temperature,
            length=config.sample_length,
            seed=config.seed + i,
            style=style,
        )
        for i, a in enumerate(artists)
    ]
    texts = []
    for start in range(0, len(requests), SAMPLE_BATCH):
        texts += [s.text for s in generator.generate(requests[start : start + SAMPLE_BATCH])]
    return texts


def style_report(
    checkpoint: str | Path, data: str | Path, config: StyleReportConfig, device: str = "cpu"
) -> dict[str, Any]:
    """The artist-attribution sweep over style strengths, as one JSON-ready dict."""
    generator = LyricsGenerator.from_checkpoint(checkpoint, device)
    if not generator.model.conditional:
        raise BalladeerError("The style report needs an artist-conditional model.")
    counts = generator.song_counts
    songs = [s for s in spelled_as(read_songs(data), generator.artist_table) if s.artist in counts]
    train, val = split_songs(songs, generator.meta.data.validation_fraction)
    top = sorted(counts, key=lambda a: (-counts[a], a))[: config.top_artists]
    if len(top) < 2:
        raise BalladeerError("The model knows fewer than 2 artists; there is no style to tell apart.")

    def of_top(group: list[Song]) -> list[Song]:
        return [s for s in group if s.artist in top]

    train_pieces = [(p, s.artist) for s in of_top(train) for p in chunks(s.text, config.sample_length)]
    log.info("artist classifier: %d training pieces from %d artists", len(train_pieces), len(top))
    classifier = ArtistClassifier(top, config.seed).fit(
        [p for p, _ in train_pieces], [a for _, a in train_pieces]
    )
    references = [(s.text[: config.sample_length], s.artist) for s in of_top(val)]
    predicted = classifier.predict([t for t, _ in references])
    reference_accuracy = sum(p == a for p, (_, a) in zip(predicted, references, strict=True)) / len(
        references
    )
    copies = CopyDetector([s.text for s in train], config.copy_span)

    def describe(texts: list[str], labels: list[str] | None) -> dict[str, Any]:
        longest = [copies.longest(t) for t in texts]
        row: dict[str, Any] = {
            "samples": len(texts),
            "bits_per_char_any_artist": any_artist_bits_per_char(generator, texts),
            "copy_rate": sum(n >= config.copy_span for n in longest) / len(texts),
            "longest_copy": max(longest),
        }
        guesses = classifier.predict(texts)
        if labels is not None:
            row["accuracy"] = sum(g == a for g, a in zip(guesses, labels, strict=True)) / len(texts)
        else:
            spread = Counter(guesses)
            row["label_spread"] = {a: spread.get(a, 0) / len(texts) for a in top}
        return row

    wanted = [a for a in top for _ in range(config.samples_per_artist)]
    sweep = {}
    for strength in config.strengths:
        log.info("style %g: %d samples", strength, len(wanted))
        sweep[f"{strength:g}"] = describe(_sample(generator, wanted, config, strength), wanted)
    anyone = describe(_sample(generator, [None] * len(wanted), config, 1.0), None)
    return {
        "checkpoint": str(checkpoint),
        "data": str(data),
        "config": asdict(config),
        "artists": top,
        "chance": 1 / len(top),
        "reference": {"validation_songs": len(references), "accuracy": reference_accuracy},
        "sweep": sweep,
        "any_artist": anyone,
        "recommended_style": recommend(sweep, reference_accuracy, config),
    }


def recommend(sweep: dict[str, dict[str, Any]], reference: float, config: StyleReportConfig) -> float | None:
    """The weakest strength whose samples are attributed at least as often as real unseen
    songs, copy at most 1% of the time and lose at most `max_fluency_loss` bits/char of
    fluency against plain conditional sampling (s = 1); None when no strength does."""
    plain = sweep.get("1", {}).get("bits_per_char_any_artist")
    for key, row in sorted(sweep.items(), key=lambda kv: float(kv[0])):
        fluent = plain is None or row["bits_per_char_any_artist"] - plain <= config.max_fluency_loss
        if row["accuracy"] >= reference and row["copy_rate"] <= 0.01 and fluent:
            return float(key)
    return None
