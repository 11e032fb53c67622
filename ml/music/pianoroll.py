"""MIDI ⇄ binary piano roll on a beat-synchronous grid, and a piano-roll picture.

A roll is a (frames, 88) boolean array, column 0 = MIDI 21 (A0), column 87 = MIDI 108
(C8). Frames follow the music's quarter notes (in MIDI ticks, so tempo changes keep notes
on the grid), `frames_per_beat` to a quarter note: 2 gives the eighth-note grid of the
Boulanger-Lewandowski Nottingham benchmark. As in that benchmark, a roll starts at its
first note: the silence before a pickup is dropped.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from ml.errors import DataError
from ml.music.keyboard import KEYS, LOWEST_PITCH, key_of_histogram, shift_to_c
from ml.names import DEFAULT_FRAMES_PER_BEAT

DEFAULT_TEMPO_BPM = 120.0
MAX_FRAMES = 200_000  # about 14 hours at 120 bpm on the eighth-note grid: no real piece is longer
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class RollConversion:
    roll: np.ndarray  # (frames, 88) bool
    dropped_notes: int  # notes outside A0..C8
    tempo_bpm: float  # the tune's first tempo
    transposed_by: int  # semitones applied (0 without transposition)


def load_midi(source: str | Path | bytes) -> pretty_midi.PrettyMIDI:
    """Parse a MIDI file (path or bytes); a damaged file is a DataError naming it."""
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi warns about harmless meta-event placement
            if isinstance(source, bytes):
                return pretty_midi.PrettyMIDI(io.BytesIO(source))
            return pretty_midi.PrettyMIDI(str(source))
    except FileNotFoundError as exc:
        raise DataError(f"MIDI file not found: {name}") from exc
    except Exception as exc:  # mido raises many types for damaged files
        raise DataError(f"Cannot read MIDI file {name}: {exc}") from exc


def frame_times(midi: pretty_midi.PrettyMIDI, frames_per_beat: int) -> np.ndarray:
    """Start time of every grid frame, through the end of the last note.

    The grid counts quarter notes in MIDI ticks, so tempo changes keep notes on the grid
    and a 6/8 jig gets the same eighth-note frames as a 4/4 reel (pretty_midi's beats
    would be dotted quarters there, two frames for three eighths). Computed from the tempo
    map in one vectorised step; a file longer than MAX_FRAMES frames is refused.
    """
    ticks_per_frame = midi.resolution / frames_per_beat
    change_times, bpms = midi.get_tempo_changes()
    if not len(bpms):
        change_times, bpms = np.array([0.0]), np.array([DEFAULT_TEMPO_BPM])
    change_ticks = np.array([midi.time_to_tick(t) for t in change_times], dtype=float)
    seconds_per_tick = 60.0 / (bpms * midi.resolution)
    last_tick = midi.time_to_tick(midi.get_end_time())
    frames = int(np.ceil(last_tick / ticks_per_frame)) + 1
    if frames > MAX_FRAMES:
        raise DataError(f"it spans {frames:,} grid frames; the limit is {MAX_FRAMES:,}")
    ticks = np.rint(np.arange(frames + 1) * ticks_per_frame)
    segment = np.maximum(np.searchsorted(change_ticks, ticks, side="right") - 1, 0)
    return change_times[segment] + (ticks - change_ticks[segment]) * seconds_per_tick[segment]


def key_shift(midi: pretty_midi.PrettyMIDI) -> int:
    """Semitones (−6..5) that move the tune to C major or A minor."""
    if midi.key_signature_changes:
        number = midi.key_signature_changes[0].key_number
        tonic, minor = number % 12, number >= 12
    else:
        tonic, minor = estimate_key(midi)
    return shift_to_c(tonic, minor)


def estimate_key(midi: pretty_midi.PrettyMIDI) -> tuple[int, bool]:
    """(tonic pitch class, is minor) by correlating note durations with key profiles."""
    histogram = np.zeros(12)
    for instrument in midi.instruments:
        if not instrument.is_drum:
            for note in instrument.notes:
                histogram[note.pitch % 12] += note.end - note.start
    return key_of_histogram(histogram)


def midi_to_roll(
    midi: pretty_midi.PrettyMIDI,
    frames_per_beat: int = DEFAULT_FRAMES_PER_BEAT,
    transpose: bool = False,
) -> RollConversion:
    """Binary roll of every non-drum note; notes snap to the nearest grid frames."""
    times = frame_times(midi, frames_per_beat)
    positions = np.arange(len(times))
    shift = key_shift(midi) if transpose else 0
    notes = [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    roll = np.zeros((max(len(times) - 1, 1), KEYS), dtype=bool)
    dropped = 0
    for note in notes:
        key = note.pitch + shift - LOWEST_PITCH
        if not 0 <= key < KEYS:
            dropped += 1
            continue
        start = int(np.rint(np.interp(note.start, times, positions)))
        end = max(int(np.rint(np.interp(note.end, times, positions))), start + 1)
        roll[start : min(end, len(roll)), key] = True
    sounding = np.flatnonzero(roll.any(axis=1))
    roll = roll[sounding[0] : sounding[-1] + 1] if len(sounding) else roll[:0]
    tempo = float(midi.get_tempo_changes()[1][0]) if len(midi.get_tempo_changes()[1]) else DEFAULT_TEMPO_BPM
    return RollConversion(roll, dropped, tempo, shift)


def read_roll(data: bytes, frames_per_beat: int, transpose: bool) -> RollConversion:
    """A whole MIDI file as a roll, for training and evaluation. MIDI libraries raise many
    kinds of error on damaged or extreme files (IndexError, KeyError, EOFError…): every one
    becomes a DataError with the reason, so a folder's bad file is skipped, not fatal."""
    try:
        return midi_to_roll(load_midi(data), frames_per_beat, transpose)
    except (DataError, MemoryError):
        raise
    except Exception as exc:
        raise DataError(f"{type(exc).__name__}: {exc}") from exc


def note_runs(roll: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(key, first frame, frame after the last) of every run of consecutive active frames of
    a key, key by key: the notes a roll holds."""
    padded = np.zeros((len(roll) + 2, KEYS), dtype=np.int8)
    padded[1:-1] = roll
    changes = np.diff(padded, axis=0)
    for key in range(KEYS):
        onsets, offsets = np.flatnonzero(changes[:, key] == 1), np.flatnonzero(changes[:, key] == -1)
        for start, end in zip(onsets, offsets, strict=True):
            yield key, int(start), int(end)


def roll_to_midi(
    roll: np.ndarray,
    tempo_bpm: float = DEFAULT_TEMPO_BPM,
    frames_per_beat: int = DEFAULT_FRAMES_PER_BEAT,
    program: int = 0,
    velocity: int = 80,
) -> pretty_midi.PrettyMIDI:
    """A one-piano MIDI: each run of consecutive active frames of a key is one held note."""
    seconds_per_frame = 60.0 / tempo_bpm / frames_per_beat
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    piano = pretty_midi.Instrument(program=program, name="Balladeer piano")
    for key, start, end in note_runs(roll):
        piano.notes.append(
            pretty_midi.Note(velocity, key + LOWEST_PITCH, start * seconds_per_frame, end * seconds_per_frame)
        )
    piano.notes.sort(key=lambda n: (n.start, n.pitch))
    midi.instruments.append(piano)
    return midi


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def save_roll_png(
    roll: np.ndarray,
    path: str | Path,
    frames_per_beat: int = DEFAULT_FRAMES_PER_BEAT,
    beats_per_bar: float = 4,
    title: str | None = None,
    prime_frames: int = 0,
) -> None:
    """A piano-roll picture: pitch up, time in bars, octave lines labelled at each C; the
    first `prime_frames` (music the model was given, not wrote) shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    active = np.flatnonzero(roll.any(axis=0)) if roll.size else np.array([])
    low = int(active.min()) - 3 if len(active) else 27  # a little space around the notes
    high = int(active.max()) + 4 if len(active) else 64
    low, high = max(low, 0), min(high, KEYS)
    frames_per_bar = frames_per_beat * beats_per_bar
    bars = max(len(roll) / frames_per_bar, 1)

    fig, ax = plt.subplots(figsize=(min(4 + bars * 0.45, 14), 4.5), dpi=110)
    ax.imshow(
        roll[:, low:high].T if roll.size else np.zeros((high - low, 1)),
        origin="lower",
        aspect="auto",
        cmap="Blues",
        interpolation="nearest",
        extent=(0, bars, low - 0.5, high - 0.5),
        vmin=0,
        vmax=1,
    )
    c_keys = [k for k in range(low, high) if (k + LOWEST_PITCH) % 12 == 0]
    for key in c_keys:
        ax.axhline(key - 0.5, color="0.75", linewidth=0.6)
    ax.set_yticks(c_keys, [note_name(k + LOWEST_PITCH) for k in c_keys])
    for bar in range(1, int(np.ceil(bars))):
        ax.axvline(bar, color="0.85", linewidth=0.5)
    if prime_frames:
        ax.axvspan(0, prime_frames / frames_per_bar, color="tab:orange", alpha=0.18, label="your prime")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel("bar")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
