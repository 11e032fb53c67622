"""The music report: do a style model's samples sound like real pieces of its style?

For each style, samples written the way `/midi` writes them are set beside real held-out
pieces of the style cut to the samples' length (the benchmark's validation split, on the
model's grid and in its key convention), statistic by statistic (ml.music.texture): a
sample figure counts as in range when it lies within the 10th-90th percentile of the real
pieces'. A style classifier (logistic regression on the statistics and the pitch-class and
interval histograms), trained on windows of the three training sets, then attributes
samples to their style; it should do so at least 0.9 times as often as it does real
held-out pieces. The form figures (ml.music.form: bars repeating an earlier bar, bar-long
melody motifs used again, the share of pieces in triple time) are set beside the real
pieces' the same way, with the samples' dynamics (velocity spread, melody over bass).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.errors import BalladeerError
from ml.music.form import detect_meter, motif_reuse_share, plan_for, repeated_bar_share
from ml.music.generate import PianoGenerator, PianoSample
from ml.music.request import PianoRequest
from ml.music.task import PianoDataConfig, load_piano_splits
from ml.music.texture import BEATS_PER_BAR, Texture, style_features, texture
from ml.music.voicing import ChoraleFigures, voicing_for

log = logging.getLogger(__name__)

ATTRIBUTION_RATIO = 0.9  # samples attributed at least this share as often as real pieces
MAX_HELD_BARS = 8  # no sample holds one chord longer than this
TRAINING_WINDOWS = 400  # per style, for the classifier
Row = dict[str, float | bool]  # a figure's samples median beside the real pieces' range


@dataclass(frozen=True)
class MusicReportConfig:
    samples: int = 20  # per style
    seconds: float = PianoRequest.seconds
    temperature: float = PianoRequest.temperature
    max_notes: int | None = None
    seed: int = 1234

    def __post_init__(self) -> None:
        if self.samples < 1 or self.seconds <= 0:
            raise BalladeerError("The music report needs at least one sample of some length per style.")


@dataclass
class StyleModel:
    style: str
    generator: PianoGenerator
    data: Path  # the benchmark file or MIDI folder the model was trained on


def make_music_report(models: list[StyleModel], config: MusicReportConfig) -> dict[str, Any]:
    if len({m.style for m in models}) < 2:
        raise BalladeerError("The music report compares styles: give it at least two style models.")
    pieces = {m.style: _pieces(m, config) for m in models}
    classifier = _fit_classifier({style: p["train"] for style, p in pieces.items()})
    styles = {}
    for m in models:
        p = pieces[m.style]
        real, made = p["held_out_textures"], p["sample_textures"]
        styles[m.style] = {
            "real_pieces": len(real),
            "samples": len(made),
            "statistics": _compared(real, made),
            "attributed": {
                "real": _attributed(classifier, p["held_out_features"], m.style),
                "samples": _attributed(classifier, p["sample_features"], m.style),
            },
            "longest_held_bars": max(t.longest_chord_bars for t in made),
            "form": p["form"],
        }
        styles[m.style]["missed"] = _missed(styles[m.style])
    return {
        "config": {"samples": config.samples, "seconds": config.seconds, "temperature": config.temperature,
                   "max_notes": config.max_notes, "seed": config.seed, "beats_per_bar": BEATS_PER_BAR},
        "styles": styles,
        "sample_rolls": {style: p["samples"] for style, p in pieces.items()},
    }  # fmt: skip


def _pieces(model: StyleModel, config: MusicReportConfig) -> dict[str, Any]:
    g = model.generator
    frames = g.frames_for(config.seconds)
    loaded = load_piano_splits(
        PianoDataConfig(
            data=model.data,
            frames_per_beat=g.frames_per_beat,
            transpose=g.transpose,
            validation_fraction=g.meta.data.validation_fraction,
        )
    )
    held_out = _windows([t.roll for t in loaded.splits["val"]], frames)
    train = _windows([t.roll for t in loaded.splits["train"]], frames)
    if not held_out or not train:
        raise BalladeerError(f"{model.data} has no piece of {config.seconds:g} s (or half) to compare with.")
    picks = np.random.default_rng(config.seed).permutation(len(train))[:TRAINING_WINDOWS]
    requests = [
        PianoRequest(seconds=config.seconds, temperature=config.temperature, seed=config.seed + i,
                     max_notes=config.max_notes, form=plan_for(model.style), voicing=voicing_for(model.style))
        for i in range(config.samples)
    ]  # fmt: skip
    log.info("%s: writing %d samples of %g s", model.style, config.samples, config.seconds)
    made = g.generate(requests)
    samples = [s.roll for s in made]
    textures = lambda rolls: [texture(r, g.frames_per_beat, g.tempo_bpm) for r in rolls]  # noqa: E731
    features = lambda rolls, ts: [style_features(r, t) for r, t in zip(rolls, ts, strict=True)]  # noqa: E731
    held_out_textures, sample_textures = textures(held_out), textures(samples)
    train_picked = [train[i] for i in picks]
    return {
        "samples": samples,
        "held_out_textures": held_out_textures,
        "sample_textures": sample_textures,
        "train": features(train_picked, textures(train_picked)),
        "held_out_features": features(held_out, held_out_textures),
        "sample_features": features(samples, sample_textures),
        "form": _form(model.style, held_out, made, g.frames_per_beat),
    }


def _form(style: str, held_out: list[np.ndarray], made: list[PianoSample], fpb: int) -> dict[str, Any]:
    """The form figures of samples beside real held-out pieces of the same length (each read
    in the meter its notes follow), and the samples' dynamics as /midi plays them."""
    plan = plan_for(style)
    allowed = plan.meters if plan else (3, 4)
    real_meters = [detect_meter(w, fpb, allowed) for w in held_out]
    figures = {}
    for name, measure in (("repeated_bars", repeated_bar_share), ("motif_reuse", motif_reuse_share)):
        real = np.array([measure(w, fpb, m) for w, m in zip(held_out, real_meters, strict=True)])
        figures[name] = _beside(real, np.array([measure(s.roll, fpb, s.meter) for s in made]))
    figures["triple_share"] = {
        "real": float(np.mean([m.beats == 3 for m in real_meters])),
        "samples": float(np.mean([s.meter.beats == 3 for s in made])),
    }
    spreads, top_over_bass = [], []
    for sample in made:
        notes = sample.to_midi().instruments[0].notes
        spreads.append(float(np.std([n.velocity for n in notes])) if notes else 0.0)
        top_over_bass.append(_top_over_bass(notes))
    figures["voices"] = _voices(held_out, [s.roll for s in made], fpb)
    figures["velocity_spread_median"] = float(np.median(spreads))
    figures["top_louder_than_bass"] = float(np.mean(top_over_bass))
    return figures


def _voices(held_out: list[np.ndarray], made: list[np.ndarray], fpb: int) -> dict[str, Row]:
    """What a chorale is read by (ml.music.voicing), samples' median beside the real pieces'
    median and 10th-90th percentiles, in the data's pitch."""
    rows = {}
    real = [ChoraleFigures.of(r, fpb) for r in held_out]
    ours = [ChoraleFigures.of(r, fpb) for r in made]
    for name in ("parallels_per_15_bars", "bass_median", "soprano_max", "four_voice_share"):
        rows[name] = _beside(
            np.array([getattr(f, name) for f in real]), np.array([getattr(f, name) for f in ours])
        )
    return rows


def _top_over_bass(notes: list) -> bool:
    """Whether the highest note of each onset is played louder, on average, than the lowest."""
    onsets: dict[float, list] = {}
    for note in notes:
        onsets.setdefault(note.start, []).append(note)
    pairs = [
        (max(c, key=lambda n: n.pitch), min(c, key=lambda n: n.pitch)) for c in onsets.values() if len(c) > 1
    ]
    return bool(pairs) and np.mean([top.velocity - low.velocity for top, low in pairs]) > 0


def _windows(rolls: list[np.ndarray], frames: int) -> list[np.ndarray]:
    """Each roll cut into consecutive windows of `frames`; a shorter piece or tail is kept
    when at least half as long."""
    cut = [r[i : i + frames] for r in rolls for i in range(0, len(r), frames)]
    return [w for w in cut if len(w) >= frames // 2]


def _fit_classifier(training: dict[str, list[np.ndarray]]):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([f for rows in training.values() for f in rows])
    y = [style for style, rows in training.items() for _ in rows]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)


def _attributed(classifier, features: list[np.ndarray], style: str) -> float:
    return float(np.mean(classifier.predict(np.array(features)) == style))


def _compared(real: list[Texture], made: list[Texture]) -> dict[str, Row]:
    rows = {}
    real_values = np.array([t.values() for t in real])
    made_values = np.array([t.values() for t in made])
    for i, name in enumerate(Texture.names()):
        values, samples = real_values[:, i], made_values[:, i]
        low, high = np.percentile(values, [10, 90])
        rows[name] = _beside(values, samples) | {
            "samples_in_range": float(np.mean((samples >= low) & (samples <= high)))
        }
    return rows


def _beside(real: np.ndarray, samples: np.ndarray) -> Row:
    """The samples' median beside the real pieces' median and 10th-90th percentiles, and
    whether it lies within them."""
    low, high = np.percentile(real, [10, 90])
    median = float(np.median(samples))
    return {
        "real_p10": float(low),
        "real_median": float(np.median(real)),
        "real_p90": float(high),
        "samples_median": median,
        "within": bool(low <= median <= high),
    }


def _missed(style: dict[str, Any]) -> list[str]:
    missed = [
        f"{name}: samples {row['samples_median']:.2f}, real {row['real_p10']:.2f}-{row['real_p90']:.2f}"
        for name, row in style["statistics"].items()
        if not row["within"]
    ]
    real, made = style["attributed"]["real"], style["attributed"]["samples"]
    if made < ATTRIBUTION_RATIO * real:
        missed.append(f"attributed: samples {made:.2f}, real {real:.2f} (target ≥ {ATTRIBUTION_RATIO} x)")
    for name in ("repeated_bars", "motif_reuse"):
        row = style["form"][name]
        if not row["within"]:
            real = f"{row['real_p10']:.2f}-{row['real_p90']:.2f}"
            missed.append(f"form {name}: samples {row['samples_median']:.2f}, real {real}")
    if style["longest_held_bars"] > MAX_HELD_BARS:
        missed.append(f"a chord held {style['longest_held_bars']:.1f} bars (target ≤ {MAX_HELD_BARS})")
    return missed
