"""Piano-roll data: a folder of MIDI files, or a Boulanger-Lewandowski benchmark file.

A folder is split per file by a stable hash of its relative path; converted rolls are
cached (keyed by the files' content and the grid settings) so a second run starts at
once. The benchmark files (.pickle or .mat) bring their published train/valid/test split.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ml.batch import Batch
from ml.errors import DataError
from ml.music.pianoroll import KEYS, LOWEST_PITCH, read_roll
from ml.sequences import padded_batches, shuffled, stream_batch
from ml.splits import split_items

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: quarter-note grid, leading silence dropped
MIDI_SUFFIXES = (".mid", ".midi")
BENCHMARK_SPLITS = ("train", "valid", "test")


@dataclass
class Tune:
    name: str
    roll: np.ndarray  # (frames, 88) bool
    tempo_bpm: float | None = None  # None for benchmark rolls, which carry no tempo


@dataclass
class MidiFolder:
    tunes: list[Tune]
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> files
    dropped_notes: int = 0


def cache_dir() -> Path:
    """$BALLADEER_CACHE, else $XDG_CACHE_HOME/balladeer, else ~/.cache/balladeer."""
    if explicit := os.environ.get("BALLADEER_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "balladeer"


def midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())


def load_midi_folder(folder: str | Path, frames_per_beat: int, transpose: bool) -> MidiFolder:
    """Every MIDI file under `folder` as a roll; unreadable or empty files are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"MIDI folder not found: {folder}")
    files = midi_files(folder)
    if not files:
        raise DataError(f"No .mid or .midi files under {folder}.")
    contents = {p: p.read_bytes() for p in files}
    key = hashlib.sha256(f"v{CACHE_VERSION}:{frames_per_beat}:{transpose}".encode())
    for path, data in contents.items():
        key.update(str(path.relative_to(folder)).encode() + b"\0" + hashlib.sha256(data).digest())
    cache = cache_dir() / f"rolls-{key.hexdigest()[:24]}.npz"
    if cache.is_file():
        try:
            return _read_cache(cache)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable roll cache %s (%s)", cache, exc)

    result = MidiFolder([])
    for path, data in contents.items():
        name = str(path.relative_to(folder))
        try:
            conversion = read_roll(data, frames_per_beat, transpose)
        except DataError as exc:
            log.warning("skipping %s: %s", name, exc)
            result.skipped["unreadable"] = result.skipped.get("unreadable", 0) + 1
            continue
        result.dropped_notes += conversion.dropped_notes
        if len(conversion.roll) < 2:
            log.warning("skipping %s: no pitched notes (empty or drums only)", name)
            result.skipped["no notes"] = result.skipped.get("no notes", 0) + 1
            continue
        result.tunes.append(Tune(name, conversion.roll, conversion.tempo_bpm))
    if not result.tunes:
        raise DataError(f"None of the {len(files)} MIDI files under {folder} holds pitched notes.")
    if result.skipped:
        log.warning(
            "skipped %d of %d MIDI files: %s",
            sum(result.skipped.values()),
            len(files),
            result.skipped,
        )
    _write_cache(cache, result)
    return result


def _write_cache(path: Path, folder: MidiFolder) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez_compressed(
            tmp,
            bits=np.packbits(np.concatenate([t.roll for t in folder.tunes]), axis=1),
            lengths=np.array([len(t.roll) for t in folder.tunes]),
            names=np.array([t.name for t in folder.tunes]),
            tempos=np.array([t.tempo_bpm for t in folder.tunes], dtype=float),
            skipped_reasons=np.array(list(folder.skipped), dtype=str),
            skipped_counts=np.array(list(folder.skipped.values()), dtype=int),
            dropped=np.array(folder.dropped_notes),
        )
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not write the roll cache %s (%s)", path, exc)


def _read_cache(path: Path) -> MidiFolder:
    with np.load(path) as z:
        rolls = np.unpackbits(z["bits"], axis=1, count=KEYS).astype(bool)
        bounds = np.cumsum(np.concatenate([[0], z["lengths"]]))
        tunes = [
            Tune(str(name), rolls[a:b], float(tempo))
            for name, a, b, tempo in zip(z["names"], bounds[:-1], bounds[1:], z["tempos"], strict=True)
        ]
        skipped = dict(zip(z["skipped_reasons"].tolist(), z["skipped_counts"].tolist(), strict=True))
        return MidiFolder(tunes, skipped, int(z["dropped"]))


class _PlainUnpickler(pickle.Unpickler):
    """Loads plain containers and numbers only: a pickle may otherwise run any code."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is allowed")


def load_benchmark(path: str | Path) -> dict[str, list[Tune]]:
    """A Boulanger-Lewandowski set: {'train', 'valid', 'test'} → tunes (rolls)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Benchmark file not found: {path}")
    if path.suffix == ".mat":
        splits = _read_mat(path)
    elif path.suffix in (".pickle", ".pkl"):
        splits = _read_pickle(path)
    else:
        raise DataError(f"{path}: expected a MIDI folder, a .pickle or a .mat benchmark file.")
    return {
        split: [Tune(f"{split}/{i}", roll) for i, roll in enumerate(rolls)] for split, rolls in splits.items()
    }


def _read_pickle(path: Path) -> dict[str, list[np.ndarray]]:
    try:
        data = _PlainUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except Exception as exc:
        raise DataError(f"Cannot read {path} as a benchmark pickle: {exc}") from exc
    if not isinstance(data, dict) or not all(s in data for s in BENCHMARK_SPLITS):
        raise DataError(f"{path} is not a benchmark pickle: expected a dict with train, valid and test.")
    splits = {}
    for split in BENCHMARK_SPLITS:
        rolls = []
        for piece in data[split]:
            roll = np.zeros((len(piece), KEYS), dtype=bool)
            for t, pitches in enumerate(piece):
                for pitch in pitches:
                    if LOWEST_PITCH <= int(pitch) < LOWEST_PITCH + KEYS:
                        roll[t, int(pitch) - LOWEST_PITCH] = True
            rolls.append(roll)
        splits[split] = rolls
    return splits


def _read_mat(path: Path) -> dict[str, list[np.ndarray]]:
    from scipy.io import loadmat

    try:
        data = loadmat(path)
    except Exception as exc:
        raise DataError(f"Cannot read {path} as a MATLAB benchmark file: {exc}") from exc
    splits = {}
    for split in BENCHMARK_SPLITS:
        key = f"{split}data"
        if key not in data:
            raise DataError(f"{path} lacks '{key}'; expected traindata, validdata and testdata.")
        rolls = [np.asarray(r, dtype=bool) for r in data[key][0]]
        if any(r.ndim != 2 or r.shape[1] != KEYS for r in rolls):
            raise DataError(f"{path}: pieces must be T x {KEYS} piano rolls.")
        splits[split] = rolls
    return splits


def split_folder(tunes: list[Tune], fraction: float) -> tuple[list[Tune], list[Tune]]:
    """(train, validation) by a stable hash of each file's relative path."""
    return split_items(tunes, lambda t: t.name, fraction, "tunes")


def transposed(roll: torch.Tensor, semitones: int) -> torch.Tensor:
    """`roll` (frames, keys) moved up by `semitones` (down if negative); notes pushed past
    either end of the keyboard drop out."""
    moved = torch.zeros_like(roll)
    if semitones >= 0:
        moved[:, semitones:] = roll[:, : roll.shape[1] - semitones]
    else:
        moved[:, :semitones] = roll[:, -semitones:]
    return moved


class PianoCorpus:
    """Rolls as float tensors, batched for the trainer.

    With `max_shift` > 0, every training epoch (a call given a generator) moves each tune
    by its own random number of semitones in [-max_shift, max_shift]: the model hears
    every interval and chord shape in many registers, which small sets like JSB Chorales
    otherwise teach in one key each. Validation and test batches are never moved.
    """

    def __init__(self, tunes: list[Tune], max_shift: int = 0) -> None:
        self.tunes = tunes
        self.max_shift = max_shift
        self.sequences = [torch.from_numpy(t.roll.astype(np.float32)) for t in tunes]

    @property
    def frames(self) -> int:
        """Scored frames: all but each tune's first."""
        return sum(len(s) - 1 for s in self.sequences)

    def key_frequencies(self) -> np.ndarray:
        """How often each key sounds, over all frames (the independent-Bernoulli baseline)."""
        rolls = np.concatenate([t.roll for t in self.tunes])
        return (rolls.sum(axis=0) + 0.5) / (len(rolls) + 1.0)

    def streams(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        sequences = self._epoch_sequences(generator)
        return stream_batch(sequences, None, batch_size, shuffled(len(sequences), generator))

    def tune_batches(self, batch_size: int, generator: torch.Generator | None = None) -> list[Batch]:
        return padded_batches(self._epoch_sequences(generator), None, batch_size, generator)

    def _epoch_sequences(self, generator: torch.Generator | None) -> list[torch.Tensor]:
        if generator is None or self.max_shift == 0:
            return self.sequences
        shifts = torch.randint(
            -self.max_shift, self.max_shift + 1, (len(self.sequences),), generator=generator
        )
        return [transposed(s, int(k)) for s, k in zip(self.sequences, shifts, strict=True)]
