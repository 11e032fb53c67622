"""The piano training task: a MIDI folder or a benchmark file, split, for the trainer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
import torch

from ml.batch import Batch
from ml.errors import DataError
from ml.music.baselines import score_independent_bernoulli
from ml.music.data import PianoCorpus, Tune, load_benchmark, load_midi_folder, split_folder
from ml.music.melody import MelodyIndex
from ml.music.meta import PianoData, PianoMeta
from ml.music.pianoroll import DEFAULT_TEMPO_BPM
from ml.names import DEFAULT_FRAMES_PER_BEAT
from ml.run_log import ReportUnit
from ml.splits import DEFAULT_VALIDATION_FRACTION

MAX_OPENINGS = 256  # first frames kept in the checkpoint to start unprimed samples


@dataclass
class PianoDataConfig:
    data: Path
    frames_per_beat: int = DEFAULT_FRAMES_PER_BEAT
    transpose: bool = True  # to C major / A minor, as the benchmark does
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    also_train: Path | None = None  # a MIDI folder whose training split joins `data`'s
    augment_semitones: int = 0  # training tunes moved by up to this many semitones each epoch


@dataclass
class PianoSplits:
    """Tunes by split, plus what the source says about them."""

    splits: dict[str, list[Tune]]
    source: str  # "midi-folder" or "benchmark"
    tempo_bpm: float
    summary: dict[str, Any]


def load_piano_splits(config: PianoDataConfig) -> PianoSplits:
    """train/val(/test) tunes from a MIDI folder (hash split) or a benchmark file, plus
    the training split of `also_train` where its melodies are safe (see add_training_folder)."""
    loaded = _load_source(config)
    if config.also_train is not None:
        add_training_folder(loaded, config)
    return loaded


def add_training_folder(loaded: PianoSplits, config: PianoDataConfig) -> None:
    """Append a MIDI folder's training split (by the project's split rule) to `loaded`'s.

    Leakage rule: the folder may hold the same tunes as `loaded` (jukedeck and the
    benchmark are two packagings of Nottingham). A tune joins only if its melody matches
    one of `loaded`'s training tunes and none of its held-out ones, so validation and
    test figures stay clean.
    """
    folder = load_midi_folder(Path(config.also_train), config.frames_per_beat, config.transpose)
    extra, _ = split_folder(folder.tunes, config.validation_fraction)
    index = MelodyIndex({split: [t.roll for t in tunes] for split, tunes in loaded.splits.items()})
    keep, report = index.safe_for_training([t.roll for t in extra])
    loaded.splits["train"] = loaded.splits["train"] + [t for t, k in zip(extra, keep, strict=True) if k]
    loaded.summary["also_train"] = {"source": str(config.also_train), **report.to_dict()}


def _load_source(config: PianoDataConfig) -> PianoSplits:
    path = Path(config.data)
    if path.is_dir():
        folder = load_midi_folder(path, config.frames_per_beat, config.transpose)
        train, val = split_folder(folder.tunes, config.validation_fraction)
        tempos = [t.tempo_bpm for t in folder.tunes if t.tempo_bpm]
        return PianoSplits(
            {"train": train, "val": val},
            "midi-folder",
            float(median(tempos)) if tempos else DEFAULT_TEMPO_BPM,
            {"files_skipped": folder.skipped, "notes_out_of_range": folder.dropped_notes},
        )
    if path.is_file():
        splits = load_benchmark(path)
        return PianoSplits(
            {"train": splits["train"], "val": splits["valid"], "test": splits["test"]},
            "benchmark",
            DEFAULT_TEMPO_BPM,
            {},
        )
    raise DataError(f"Piano data not found: {path} (give a MIDI folder, a .pickle or a .mat file).")


class PianoTask:
    kind = "piano"
    unit = "frame"
    report = ReportUnit("nats/frame")

    def __init__(self, config: PianoDataConfig) -> None:
        self.config = config
        loaded = load_piano_splits(config)
        self.source = loaded.source
        self.tempo_bpm = loaded.tempo_bpm
        self.train = PianoCorpus(loaded.splits["train"], config.augment_semitones)
        self.val = PianoCorpus(loaded.splits["val"])
        extra = loaded.summary
        self.summary = PianoData(
            source=str(config.data),
            kind=loaded.source,
            train_tunes=len(self.train.tunes),
            val_tunes=len(self.val.tunes),
            train_frames=self.train.frames,
            val_frames=self.val.frames,
            validation_fraction=config.validation_fraction,
            augment_semitones=config.augment_semitones,
            files_skipped=extra.get("files_skipped", 0),
            notes_out_of_range=extra.get("notes_out_of_range", 0),
            also_train=extra.get("also_train"),
        )

    def train_streams(self, batch_size: int, generator: torch.Generator) -> Batch:
        return self.train.streams(batch_size, generator)

    def train_sequences(self, batch_size: int, generator: torch.Generator) -> list[Batch]:
        return self.train.tune_batches(batch_size, generator)

    def validation_batches(self, batch_size: int) -> list[Batch]:
        return self.val.tune_batches(batch_size)

    def checkpoint_meta(self) -> dict[str, Any]:
        openings = [np.flatnonzero(t.roll[0]).tolist() for t in self.train.tunes[:MAX_OPENINGS]]
        return PianoMeta(
            frames_per_beat=self.config.frames_per_beat,
            tempo_bpm=self.tempo_bpm,
            transpose=self.config.transpose,
            openings=[o for o in openings if o],
            max_keys=max(int(t.roll.sum(axis=1).max(initial=0)) for t in self.train.tunes),
            data=self.summary,
        ).to_dict()

    def baselines(self) -> dict[str, float]:
        frequencies = self.train.key_frequencies()
        return {"independent Bernoulli": score_independent_bernoulli(frequencies, self.val)["nll_per_frame"]}

    def named_metrics(self, loss_per_unit: float) -> dict[str, float]:
        return {"nll_per_frame": loss_per_unit}
