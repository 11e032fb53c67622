"""What a piano roll sounds like, in numbers a listener would recognise: how busy it is,
how many keys sound together, where it sits on the keyboard, how much of it is in its key,
how long one chord is held and how often a bar comes back. The music report compares
samples with real pieces of their style on these, and its style classifier reads them with
the piece's pitch-class and interval histograms."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np

from ml.music.form import repeated_share
from ml.music.keyboard import LOWEST_PITCH, key_of_histogram, roll_pitch_classes, scale_of
from ml.music.pianoroll import note_runs

BEATS_PER_BAR = 4  # benchmark rolls carry no meter: bars are counted as four beats
MAX_STEP = 12  # melodic steps of the top voice above an octave share the last bin


@dataclass(frozen=True)
class Texture:
    notes_per_second: float
    mean_polyphony: float  # keys down per frame, silent frames included
    max_polyphony: int
    pitch_range: int  # semitones from the lowest to the highest key played
    median_pitch: float  # MIDI pitch, weighted by the time each note sounds
    in_key: float  # share of note-time on the scale of the key estimated from the notes
    longest_chord_bars: float  # the longest run of frames with one unchanged set of keys
    repeated_bars: float  # share of sounding bars that repeat an earlier bar exactly

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def values(self) -> list[float]:
        return [float(v) for v in astuple(self)]


def texture(roll: np.ndarray, frames_per_beat: int, tempo_bpm: float) -> Texture:
    roll = np.asarray(roll, dtype=bool)
    seconds = len(roll) * 60.0 / tempo_bpm / frames_per_beat
    down = roll.sum(axis=1)
    played = np.flatnonzero(roll.any(axis=0)) + LOWEST_PITCH
    per_key = roll.sum(axis=0)
    pitch_classes = roll_pitch_classes(roll)
    scale = sorted(scale_of(*key_of_histogram(pitch_classes)))
    return Texture(
        notes_per_second=sum(1 for _ in note_runs(roll)) / seconds if seconds else 0.0,
        mean_polyphony=float(down.mean()) if len(roll) else 0.0,
        max_polyphony=int(down.max(initial=0)),
        pitch_range=int(played[-1] - played[0]) if len(played) else 0,
        median_pitch=_weighted_median(np.arange(len(per_key)) + LOWEST_PITCH, per_key),
        in_key=float(pitch_classes[scale].sum() / pitch_classes.sum()) if pitch_classes.sum() else 0.0,
        longest_chord_bars=_longest_held(roll) / (frames_per_beat * BEATS_PER_BAR),
        repeated_bars=repeated_share(roll, frames_per_beat * BEATS_PER_BAR, transposed=False),
    )


def style_features(roll: np.ndarray, roll_texture: Texture) -> np.ndarray:
    """The roll's texture, then the pitch classes from the estimated tonic, the harmonic
    intervals (keys sounding together, folded into an octave) and the top voice's melodic
    steps, each histogram as shares: what a style classifier reads."""
    roll = np.asarray(roll, dtype=bool)
    pitch_classes = roll_pitch_classes(roll)
    tonic, minor = key_of_histogram(pitch_classes)
    return np.concatenate(
        [
            roll_texture.values(),
            [float(minor)],
            _shares(np.roll(pitch_classes, -tonic)),
            _shares(_harmonic_intervals(roll)),
            _shares(_top_voice_steps(roll)),
        ]
    )


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    if not weights.sum():
        return 0.0
    cumulative = np.cumsum(weights)
    return float(values[np.searchsorted(cumulative, cumulative[-1] / 2)])


def _longest_held(roll: np.ndarray) -> int:
    """Frames in the longest run of identical, sounding frames."""
    longest = run = 0
    for i, frame in enumerate(roll):
        run = run + 1 if i and frame.any() and np.array_equal(frame, roll[i - 1]) else int(frame.any())
        longest = max(longest, run)
    return longest


def _harmonic_intervals(roll: np.ndarray) -> np.ndarray:
    """(12,) pairs of keys sounding together, by their distance folded into an octave."""
    counts = np.zeros(12)
    for distance in range(1, roll.shape[1]):
        counts[distance % 12] += np.count_nonzero(roll[:, :-distance] & roll[:, distance:])
    return counts


def _top_voice_steps(roll: np.ndarray) -> np.ndarray:
    """(MAX_STEP + 1,) sizes of the top voice's moves between sounding frames, in semitones."""
    sounding = roll[roll.any(axis=1)]
    top = sounding.shape[1] - 1 - np.argmax(sounding[:, ::-1], axis=1)
    steps = np.minimum(np.abs(np.diff(top)), MAX_STEP)
    return np.bincount(steps, minlength=MAX_STEP + 1).astype(float)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts
