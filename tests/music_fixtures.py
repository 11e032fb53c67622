"""MIDI fixtures written with pretty_midi, and a tiny trained piano model (no real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


G_MAJOR_CHORDS = ([55, 59, 62], [60, 64, 67], [62, 66, 69], [52, 55, 59])  # G, C, D, Em


def expressive_piece(meter: tuple[int, int], tempo: float, bars: int = 8) -> pretty_midi.PrettyMIDI:
    """Played, not quantised: chords in G major off the grid by a few ms, varied velocities,
    repeated staccato notes, a melody on a second instrument; the key signature says C."""
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(*meter, 0))
    midi.key_signature_changes.append(pretty_midi.KeySignature(0, 0))  # "C major": wrong
    quarter = 60 / tempo
    bar = meter[0] * 4 / meter[1] * quarter
    piano, violin = pretty_midi.Instrument(program=0), pretty_midi.Instrument(program=40)
    rng = np.random.default_rng(0)
    for b in range(bars):
        start = b * bar + rng.uniform(0, 0.013)
        for pitch in G_MAJOR_CHORDS[b % 4]:
            piano.notes.append(pretty_midi.Note(int(rng.integers(55, 110)), pitch, start, start + bar * 0.9))
        for k in range(3):  # the same note three times, short: must not merge into one
            t = b * bar + k * quarter / 2 + 0.003 * k
            violin.notes.append(pretty_midi.Note(int(rng.integers(40, 120)), 74, t, t + quarter / 5))
    midi.instruments += [piano, violin]
    return midi


def jig_with_pickup(padded: bool) -> pretty_midi.PrettyMIDI:
    """A 6/8 fiddle tune at 132 bpm with an eighth-note pickup, accents on beats 1 and 4 of
    each bar; the pickup padded with rests to a whole bar (as notation programs export it)
    or starting the file (as abc converters write it)."""
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=132)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(6, 8, 0))
    fiddle = pretty_midi.Instrument(program=40, name="Fiddle")
    eighth = 60 / 132 / 2
    first_barline = 6 * eighth if padded else eighth
    fiddle.notes.append(pretty_midi.Note(80, 67, first_barline - eighth, first_barline))  # the pickup
    for bar in range(6):
        for k, pitch in enumerate((72, 71, 69, 67, 69, 71)):
            t = first_barline + (bar * 6 + k) * eighth
            fiddle.notes.append(pretty_midi.Note(90 if k in (0, 3) else 70, pitch, t, t + eighth))
    midi.instruments.append(fiddle)
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


def scale_midi(beats: int = 32, tempo: float = 120.0) -> pretty_midi.PrettyMIDI:
    """One note a beat up and down the C major scale: a melody, where chord_midi has chords."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    piano = pretty_midi.Instrument(program=0)
    beat = 60.0 / tempo
    steps = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]
    for b in range(beats):
        piano.notes.append(pretty_midi.Note(90, steps[b % len(steps)], b * beat, (b + 1) * beat))
    midi.instruments.append(piano)
    return midi


def write_scale_folder(folder: Path, tunes: int = 16) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(tunes):
        scale_midi(beats=24 + 4 * (i % 3)).write(str(folder / f"scale{i:02d}.mid"))
    return folder
