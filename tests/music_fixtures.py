"""MIDI fixtures written with pretty_midi, and a tiny trained piano model (no real data)."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import torch

from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.task import PianoDataConfig, PianoTask
from ml.training import Trainer
from tests.tiny_training import tiny_train_config

# C major, F major, G major, A minor: one chord per beat, over and over.
CHORDS = ([60, 64, 67], [65, 69, 72], [67, 71, 74], [57, 60, 64])


def chord_midi(beats: int = 32, tempo: float = 120.0, offset: int = 0) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    piano = pretty_midi.Instrument(program=0)
    beat = 60.0 / tempo
    for b in range(beats):
        for pitch in CHORDS[(b + offset) % len(CHORDS)]:
            piano.notes.append(pretty_midi.Note(90, pitch, b * beat, (b + 1) * beat))
    midi.instruments.append(piano)
    return midi


def write_chord_folder(folder: Path, tunes: int = 16) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(tunes):
        chord_midi(beats=24 + 4 * (i % 3), offset=0).write(str(folder / f"tune{i:02d}.mid"))
    return folder


def train_tiny_piano(data: Path, out: Path, epochs: int = 30, head: str = "sigmoid", **train_kwargs) -> Path:
    """A 1x64 LSTM that learns the chord loop in seconds; returns its best.pt."""
    task = PianoTask(PianoDataConfig(data=data, transpose=False, validation_fraction=0.25))
    config = PianoLSTMConfig(input_dim=32, hidden=64, layers=1, dropout=0.0, head=head, nade_hidden=32)
    torch.manual_seed(0)
    model = PianoLSTM(config)
    model.init_output_bias(task.train.key_frequencies())
    Trainer(
        task, model, tiny_train_config(out, epochs, **{"batch_size": 4, **train_kwargs}), config.to_dict()
    ).fit()
    return out / "best.pt"
