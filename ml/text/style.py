"""What a reader gets from a lyrics model, measured: the quality report.

An artist classifier (character 2–5-gram TF-IDF + logistic regression, on lower-cased text
so Title Case buys nothing) learns the top-K artists from half of their training songs;
the word lexicon that judges a request's candidates (ml.text.lexicon) is rebuilt from the
other half, so a best-of-N reply can only be attributed more often by sounding like the
artist, not by echoing the very songs the classifier learnt from. The classifier labels
real validation songs cut to the reply length at a line end (the reference: what unseen
songs of those artists score) and the model's replies for each artist at each setting
(guidance strength, ramp, min-p cut, line recall and rhyme: an ablation ladder). Beside
the attribution, each setting reports what a reader notices (ml.text.quality: real words
overall and on the first line, repeated lines, end rhymes, Title Case), how fluent the
replies are (bits/char under the "any artist" model: style must not be bought with
garbage), how often they copy a long verbatim span of the training text's lyrics (not a
shared run of vocables), how often they stop mid-line, and the slurs cut and profanity
masked.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ml.errors import BalladeerError
from ml.sequences import padded_batch
from ml.splits import is_validation
from ml.text.coherence import TopicSpace
from ml.text.data import Song, read_song_files, spelled_as, split_songs
from ml.text.generate import LINE_SLACK, LyricsGenerator, LyricsSample, at_line_end
from ml.text.lexicon import ArtistLexicon
from ml.text.quality import CASED_WORD, WordList, figures
from ml.text.request import STRONGEST_STYLE, LyricsRequest
from ml.text.safety import masked
from ml.text.style_config import SamplingSetting, StyleReportConfig
from ml.text.vocab import BOS, EOS

log = logging.getLogger(__name__)

SAMPLE_BATCH = 64
# What a setting's replies must reach to be chosen (issue targets, against real unseen songs).
MIN_REAL_WORDS = 0.95
MIN_FIRST_LINE_REAL_WORDS = 0.93
MIN_REPEATS_VS_REAL = 0.5
MIN_RHYMES_VS_REAL = 0.8
MAX_COPY_RATE = 0.01
MAX_VOCABLES_VS_REAL = 1.5
MIN_BALANCED = 0.98
MIN_COHERENCE_VS_REAL = 0.9
MIN_COPY_WORDS = 3  # different words a copied span must hold to be lyrics


class ArtistClassifier:
    """Character n-gram TF-IDF + logistic regression over K artists."""

    def __init__(self, artists: list[str], seed: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer  # heavy; only the report needs it
        from sklearn.linear_model import LogisticRegression

        self.artists = artists
        self.vectorizer = TfidfVectorizer(
            analyzer="char",
            lowercase=True,
            ngram_range=(2, 5),
            sublinear_tf=True,
            min_df=2,
            max_features=300_000,
        )
        self.model = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)

    def fit(self, texts: list[str], labels: list[str]) -> ArtistClassifier:
        self.model.fit(self.vectorizer.fit_transform(texts), labels)
        return self

    def predict(self, texts: list[str]) -> list[str]:
        return list(self.model.predict(self.vectorizer.transform(texts)))


class CopyDetector:
    """Finds verbatim spans of at least `span` characters shared with the training text.

    A span counts as copied lyrics only when it holds at least MIN_COPY_WORDS different
    whole words: a run of one or two vocables ("Yeah, yeah, yeah, yeah…", "oh, oh, oh")
    is in hundreds of songs and is nobody's lyric. Read on the shipped model's replies,
    every 40-character span the plain rule caught was such a run."""

    def __init__(self, texts: list[str], span: int) -> None:
        self.span = span
        self.corpus = "\x00".join(texts)
        self._windows = {hash(t[i : i + span]) for t in texts for i in range(len(t) - span + 1)}

    def matches(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each maximal span of `text` at least `span` long found in the training text."""
        found = []
        i = 0
        while i + self.span <= len(text):
            window = text[i : i + self.span]
            if hash(window) in self._windows and window in self.corpus:
                end = i + self.span
                while end < len(text) and text[i : end + 1] in self.corpus:
                    end += 1
                found.append((i, end))
                i = end - self.span + 1
            else:
                i += 1
        return found

    def longest(self, text: str, min_words: int = MIN_COPY_WORDS) -> int:
        """Length of the longest copied span of `text` holding `min_words` different whole
        words (0 if there is none)."""
        lyrics = [(a, b) for a, b in self.matches(text) if len(whole_words(text, a, b)) >= min_words]
        return max((b - a for a, b in lyrics), default=0)


def whole_words(text: str, start: int, end: int) -> set[str]:
    """The different words (lower-cased) lying wholly inside text[start:end]."""
    words = set()
    for match in CASED_WORD.finditer(text, start, end):
        cut_before = match.start() == start and start > 0 and text[start - 1].isalpha()
        cut_after = match.end() == end and end < len(text) and text[end].isalpha()
        if not (cut_before or cut_after):
            words.add(match.group().lower())
    return words


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
        nll, _ = model.sequence_nll(batch)
        total_nats += float(nll.sum())
        total_chars += int(batch.mask.sum())
    return total_nats / max(total_chars, 1) / math.log(2)


def cut_like_a_reply(text: str, length: int) -> str:
    """A real song cut where a reply of `length` would stop: at the first line end from
    `length` characters on (within LINE_SLACK), else at the last line end before."""
    if len(text) <= length:
        return text
    end = text.find("\n", length - 1, length + LINE_SLACK)
    return text[:end].rstrip() if end != -1 else at_line_end(text[: length + LINE_SLACK], False)[0]


def artist_songs(
    generator: LyricsGenerator, data: list[Path], top_artists: int
) -> tuple[list[Song], list[Song], list[str]]:
    """The songs of the model's artists in `data`, split as in training, and the
    `top_artists` artists with the most training songs."""
    if not generator.model.conditional:
        raise BalladeerError("The style report needs an artist-conditional model.")
    counts = generator.song_counts
    songs = [s for s in spelled_as(read_song_files(data), generator.artist_table) if s.artist in counts]
    train, val = split_songs(songs, generator.meta.data.validation_fraction)
    top = sorted(counts, key=lambda a: (-counts[a], a))[:top_artists]
    if len(top) < 2:
        raise BalladeerError("The model knows fewer than 2 artists; there is no style to tell apart.")
    return train, val, top


def halves(songs: list[Song]) -> tuple[list[Song], list[Song]]:
    """The songs in two halves by a stable hash of each one: the judge's and the classifier's."""
    judge = {s.identity for s in songs if is_validation(f"judge:{s.identity}", 0.5)}
    return [s for s in songs if s.identity in judge], [s for s in songs if s.identity not in judge]


def fit_classifier(train: list[Song], top: list[str], config: StyleReportConfig) -> ArtistClassifier:
    """The artist classifier, on the `top` artists' training songs cut to the reply length."""
    pieces = [(p, s.artist) for s in train if s.artist in top for p in chunks(s.text, config.sample_length)]
    log.info("artist classifier: %d training pieces from %d artists", len(pieces), len(top))
    return ArtistClassifier(top, config.seed).fit([p for p, _ in pieces], [a for _, a in pieces])


def real_replies(val: list[Song], top: list[str], length: int) -> list[tuple[str, str]]:
    """The `top` artists' validation songs cut where a reply would stop, with their artist."""
    return [(cut_like_a_reply(s.text, length), s.artist) for s in val if s.artist in top]


def _sample(
    generator: LyricsGenerator,
    artists: list[str | None],
    config: StyleReportConfig,
    setting: SamplingSetting,
) -> list[LyricsSample]:
    requests = [
        LyricsRequest(
            artist=a,
            temperature=config.temperature,
            length=config.sample_length,
            seed=config.seed + i,
            style=setting.style,
            style_ramp=setting.ramp,
            min_p=setting.min_p,
            plausibility=setting.plausibility,
            recall=setting.recall,
            rhyme=setting.rhyme,
            candidates=setting.candidates,
        )
        for i, a in enumerate(artists)
    ]
    samples = []
    for start in range(0, len(requests), SAMPLE_BATCH):
        samples += generator.generate(requests[start : start + SAMPLE_BATCH])
    return samples


def style_report(
    checkpoint: str | Path, data: list[Path], config: StyleReportConfig, device: str = "cpu"
) -> dict[str, Any]:
    """The quality sweep over guidance settings, as one JSON-ready dict."""
    generator = LyricsGenerator.from_checkpoint(checkpoint, device)
    train, val, top = artist_songs(generator, data, config.top_artists)
    judge_songs, classifier_songs = halves(train)
    generator.lexicon = ArtistLexicon.build(judge_songs, generator.artist_table.names)
    classifier = fit_classifier(classifier_songs, top, config)
    word_list = WordList(s.text for s in train)
    copies = CopyDetector([s.text for s in train], config.copy_span)
    topics = TopicSpace.fit(s.text for s in classifier_songs)
    references = real_replies(val, top, config.sample_length)

    def describe(texts: list[str], labels: list[str] | None) -> dict[str, Any]:
        longest = [copies.longest(t) for t in texts]
        row: dict[str, Any] = {
            "samples": len(texts),
            "bits_per_char_any_artist": any_artist_bits_per_char(generator, texts),
            "copy_rate": sum(n >= config.copy_span for n in longest) / len(texts),
            "longest_copy": max(longest),
            "verbatim_rate": sum(bool(copies.matches(t)) for t in texts) / len(texts),
            "coherence": topics.mean_coherence(texts),
            **asdict(figures(texts, word_list)),
        }
        guesses = classifier.predict(texts)
        if labels is not None:
            row["accuracy"] = sum(g == a for g, a in zip(guesses, labels, strict=True)) / len(texts)
            row["per_artist"] = {}
            for artist in top:
                own = [(t, g) for t, g, a in zip(texts, guesses, labels, strict=True) if a == artist]
                if own:
                    row["per_artist"][artist] = {
                        "accuracy": sum(g == artist for _, g in own) / len(own),
                        "coherence": topics.mean_coherence(t for t, _ in own),
                        **asdict(figures([t for t, _ in own], word_list)),
                    }
        else:
            spread = Counter(guesses)
            row["label_spread"] = {a: spread.get(a, 0) / len(texts) for a in top}
        return row

    def describe_replies(samples: list[LyricsSample], labels: list[str] | None) -> dict[str, Any]:
        row = describe([s.text for s in samples], labels)
        row["cut_mid_line"] = sum(s.cut_mid_line for s in samples) / len(samples)
        row["slur_lines_cut"] = sum(s.lines_cut for s in samples)
        row["profanity_masked"] = sum(masked(s.text)[1] for s in samples)
        return row

    reference = describe([t for t, _ in references], [a for _, a in references])
    reference["validation_songs"] = len(references)
    wanted = [a for a in top for _ in range(config.samples_per_artist)]
    sweep = {}
    for setting in config.settings:
        log.info("%s: %d replies", setting.key, len(wanted))
        row = describe_replies(_sample(generator, wanted, config, setting), wanted)
        sweep[setting.key] = {"setting": asdict(setting), **row}
    anyone_replies = _sample(generator, [None] * len(wanted), config, SamplingSetting(1.0))
    anyone = describe_replies(anyone_replies, None)
    chosen, missed = recommend(sweep, reference, config)
    return {
        "checkpoint": str(checkpoint),
        "data": [str(path) for path in data],
        "config": asdict(config),
        "artists": top,
        "chance": 1 / len(top),
        "reference": reference,
        "sweep": sweep,
        "any_artist": anyone,
        "recommended": chosen,
        "recommended_misses": missed,
    }


def targets_missed(row: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """The targets a setting's replies miss, by name (empty: it meets them all)."""

    def value(figures: dict[str, Any], name: str) -> float:
        return figures.get(name) or 0.0

    def measured(name: str) -> bool:  # reports from before a figure existed lack it
        return row.get(name) is not None and reference.get(name) is not None

    met = {
        "attribution ≥ real songs": row["accuracy"] >= reference["accuracy"],
        f"copying ≤ {MAX_COPY_RATE:.0%}": row["copy_rate"] <= MAX_COPY_RATE,
        f"real words ≥ {MIN_REAL_WORDS}": value(row, "real_words") >= MIN_REAL_WORDS,
        f"first-line real words ≥ {MIN_FIRST_LINE_REAL_WORDS}": value(row, "first_line_real_words")
        >= MIN_FIRST_LINE_REAL_WORDS,
        f"repeated lines ≥ {MIN_REPEATS_VS_REAL}× real": value(row, "repeated_lines")
        >= MIN_REPEATS_VS_REAL * value(reference, "repeated_lines"),
        f"rhymes ≥ {MIN_RHYMES_VS_REAL}× real": value(row, "rhymes")
        >= MIN_RHYMES_VS_REAL * value(reference, "rhymes"),
        "never stops mid-line": row.get("cut_mid_line", 0) == 0,
        f"vocable-only lines ≤ {MAX_VOCABLES_VS_REAL}× real": not measured("vocable_lines")
        or value(row, "vocable_lines") <= MAX_VOCABLES_VS_REAL * value(reference, "vocable_lines"),
        f"balanced marks in ≥ {MIN_BALANCED:.0%}": row.get("balanced") is None
        or value(row, "balanced") >= MIN_BALANCED,
        f"coherence ≥ {MIN_COHERENCE_VS_REAL}× real": not measured("coherence")
        or value(row, "coherence") >= MIN_COHERENCE_VS_REAL * value(reference, "coherence"),
    }
    return [name for name, ok in met.items() if not ok]


def recommend(
    sweep: dict[str, dict[str, Any]], reference: dict[str, Any], config: StyleReportConfig
) -> tuple[str | None, list[str]]:
    """The setting to ship, and the targets it misses: among the settings within
    `max_fluency_loss` bits/char of plain conditional sampling (s = 1, no cut) and weaker
    than STRONGEST_STYLE (a default leaves the Stronger style button a step), the one
    missing the fewest targets, then the most often attributed to its artist."""
    plain = sweep.get(SamplingSetting(1.0).key, {}).get("bits_per_char_any_artist")
    fluent = {
        key: row
        for key, row in sweep.items()
        if (plain is None or row["bits_per_char_any_artist"] - plain <= config.max_fluency_loss)
        and row["setting"]["style"] < STRONGEST_STYLE
    }
    if not fluent:
        return None, []
    misses = {key: targets_missed(row, reference) for key, row in fluent.items()}
    best = min(fluent, key=lambda key: (len(misses[key]), -fluent[key]["accuracy"]))
    return best, misses[best]
