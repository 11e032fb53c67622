"""The piano's 88 keys (column 0 of a roll = MIDI 21, A0) and the musical key of a piece,
from duration-weighted pitch classes (Krumhansl-Schmuckler). Plain numpy: the MIDI reader's
own process imports it without the rest of the package."""

from __future__ import annotations

import numpy as np

LOWEST_PITCH = 21
KEYS = 88

# Krumhansl-Kessler key profiles.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor with the leading note


def scale_of(tonic: int, minor: bool) -> set[int]:
    """The pitch classes of a key's scale."""
    return {(tonic + step) % 12 for step in (MINOR_SCALE if minor else MAJOR_SCALE)}


def key_scores(histogram: np.ndarray) -> dict[tuple[int, bool], float]:
    """Every key's (tonic, is minor) fit to a pitch-class histogram: its correlation with the
    key's Krumhansl-Schmuckler profile."""
    return {
        (tonic, minor): float(np.corrcoef(histogram, np.roll(profile, tonic))[0, 1])
        for tonic in range(12)
        for minor, profile in ((False, _MAJOR_PROFILE), (True, _MINOR_PROFILE))
    }


def key_of_histogram(histogram: np.ndarray) -> tuple[int, bool]:
    """(tonic, is minor) of a duration-weighted pitch-class histogram (Krumhansl-Schmuckler)."""
    if not histogram.std():  # silence, or every pitch class alike: no key to find
        return 0, False
    scores = key_scores(histogram)
    return max(scores, key=scores.get)


def shift_to_c(tonic: int, minor: bool) -> int:
    """Semitones (−6..5) that move a key to C major or A minor."""
    shift = ((9 if minor else 0) - tonic) % 12
    return shift - 12 if shift > 5 else shift


def roll_pitch_classes(roll: np.ndarray) -> np.ndarray:
    """(12,) frames each pitch class sounds in a (frames, 88) roll: its duration-weighted
    pitch classes, C first."""
    histogram = np.zeros(12)
    np.add.at(histogram, (np.arange(KEYS) + LOWEST_PITCH) % 12, np.asarray(roll).sum(axis=0))
    return histogram
