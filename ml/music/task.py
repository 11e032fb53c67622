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
from ml.music.data import PianoCorpus, Tune, load_benchmark, load_midi_folder, split_folder
from ml.music.pianoroll import DEFAULT_FRAMES_PER_BEAT, DEFAULT_TEMPO_BPM
from ml.splits import DEFAULT_VALIDATION_FRACTION

MAX_OPENINGS = 256  # first frames kept in the checkpoint to start unprimed samples


@dataclass
class PianoDataConfig:
    data: Path
    frames_per_beat: int = DEFAULT_FRAMES_PER_BEAT
    transpose: bool = True  # to C major / A minor, as the benchmark does
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION


@dataclass
class PianoSplits:
    """Tunes by split, plus what the source says about them."""

    splits: dict[str, list[Tune]]
    source: str  # "midi-folder" or "benchmark"
    tempo_bpm: float
    summary: dict[str, Any]


def load_piano_splits(config: PianoDataConfig) -> PianoSplits:
    """train/val(/test) tunes from a MIDI folder (hash split) or a benchmark file."""
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

    def __init__(self, config: PianoDataConfig) -> None:
        self.config = config
        loaded = load_piano_splits(config)
        self.source = loaded.source
        self.tempo_bpm = loaded.tempo_bpm
        self.train = PianoCorpus(loaded.splits["train"])
        self.val = PianoCorpus(loaded.splits["val"])
        self.summary = {
            "source": str(config.data),
            "kind": loaded.source,
            "train_tunes": len(self.train.tunes),
            "val_tunes": len(self.val.tunes),
            "train_frames": self.train.frames,
            "val_frames": self.val.frames,
            "validation_fraction": config.validation_fraction,
            **loaded.summary,
        }

    def train_batches(self, bptt: str, batch_size: int, generator: torch.Generator) -> list[Batch]:
        if bptt == "tbptt":
            return [self.train.streams(batch_size, generator)]
        return self.train.tune_batches(batch_size, generator)

    def validation_batches(self, batch_size: int) -> list[Batch]:
        return self.val.tune_batches(batch_size)

    def checkpoint_meta(self) -> dict[str, Any]:
        openings = [np.flatnonzero(t.roll[0]).tolist() for t in self.train.tunes[:MAX_OPENINGS]]
        return {
            "frames_per_beat": self.config.frames_per_beat,
            "transpose": self.config.transpose,
            "tempo_bpm": self.tempo_bpm,
            "openings": [o for o in openings if o],
            "data": self.summary,
        }

    def named_metrics(self, loss_per_unit: float) -> dict[str, float]:
        return {"nll_per_frame": loss_per_unit}
