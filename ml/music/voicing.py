"""Four real voices for chorales: each frame's keys drawn as bass, tenor, alto and soprano,
one key each, within the voice's range and above the voice under it, from the NADE's own
probabilities, with parallel fifths and octaves between any two voices made rare, and the
phrases ending on their cadence chords, the last on the tonic. Also the figures a reader checks a chorale by.

The NADE draws keys low to high, and its hidden state changes only at a key that is on: so
given the voices chosen so far, the chance that the next voice is key k is the chance that
every key between the last voice and k stays off and k comes on, all read from one hidden
state. The draw is that distribution restricted to the voice's range, renormalised.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from ml.music.form import triad
from ml.music.keyboard import LOWEST_PITCH

# Each voice's range, bass first, as MIDI pitches of the benchmark's chorales (the 2nd to
# 98th percentile of each voice in the training split's four-voice chords), in the data's
# register: an octave above Bach's (the chorale model's PianoMeta.sounding_shift says so).
SATB = ((50, 73), (62, 81), (67, 86), (72, 91))
PERFECT = (0, 7)  # octaves (and unisons) and fifths, as intervals modulo 12
BARS_PER_REPORT = 15


@dataclass(frozen=True)
class Voicing:
    ranges: tuple[tuple[int, int], ...] = SATB
    parallel_weight: float = 0.02  # a candidate making parallel fifths or octaves keeps this share
    # A voice meets the one below on its key this often (then the frame shows one key less):
    # chosen so that about one chord in ten has three keys, as in the benchmark's chorales.
    unison_share: float = 0.035
    cadences: bool = True  # a phrase's last chord: its root in the bass, the other voices in its triad


def voicing_for(style: str | None) -> Voicing | None:
    """Chorales are sung in four voices; the other styles are free."""
    return Voicing() if style == "chorale" else None


@dataclass(frozen=True)
class VoicedDraw:
    """What one frame's voiced draw needs besides the NADE: the voicing, the voices' keys in
    the frame before (for parallels; None unless it had them all), and for the last frame
    at a phrase end the chord to end on ((root pitch class, minor))."""

    voicing: Voicing
    previous: list[int] | None = None
    cadence: tuple[int, bool] | None = None


def voiced_frame(
    hidden_bias: np.ndarray,
    key_bias: np.ndarray,
    encoder: np.ndarray,
    decoder: np.ndarray,
    temperature: float,
    uniforms: np.ndarray,
    draw: VoicedDraw,
) -> np.ndarray:
    """One frame of len(draw.voicing.ranges) keys (88 bools), voice by voice from the bass."""
    voicing, previous, cadence = draw.voicing, draw.previous, draw.cadence
    keys = len(key_bias)
    frame = np.zeros(keys, dtype=bool)
    a, floor, chosen = hidden_bias.copy(), 0, []
    for voice, (low, high) in enumerate(voicing.ranges):
        candidates = np.arange(max(low - LOWEST_PITCH, floor), min(high - LOWEST_PITCH, keys - 1) + 1)
        if not len(candidates):
            break
        logits = key_bias[floor:] + decoder[floor:] @ expit(a)
        p = expit(logits / max(temperature, 1e-6))
        off_before = np.concatenate([[1.0], np.cumprod(1 - p)[:-1]])  # every key from `floor` up to k off
        weights = (off_before * p)[candidates - floor]
        weights = weights * _parallel_weights(candidates, voice, chosen, previous, voicing.parallel_weight)
        if cadence is not None:
            weights = weights * _chord_weights(candidates, voice, cadence)
        if weights.sum() <= 0:
            weights = np.ones(len(candidates))
        if chosen and cadence is None and voicing.unison_share > 0:  # the voice below's key, shared
            weights = np.r_[weights / weights.sum() * (1 - voicing.unison_share), voicing.unison_share]
            candidates = np.r_[candidates, chosen[-1]]
        if temperature == 0:
            key = int(candidates[np.argmax(weights)])
        else:
            cumulative = np.cumsum(weights / weights.sum())
            key = int(candidates[min(np.searchsorted(cumulative, uniforms[voice]), len(candidates) - 1)])
        if chosen and key == chosen[-1]:
            chosen.append(key)  # in unison: the NADE's state already holds this key
            continue
        frame[key] = True
        chosen.append(key)
        a, floor = a + encoder[key], key + 1
    return frame


def _parallel_weights(
    candidates: np.ndarray, voice: int, chosen: list[int], previous: list[int] | None, weight: float
) -> np.ndarray:
    """1 for each candidate, `weight` where it makes parallel fifths or octaves with a voice below."""
    result = np.ones(len(candidates))
    if previous is None or len(previous) <= voice:
        return result
    for lower, now in enumerate(chosen):
        result[_parallel(previous[voice], previous[lower], candidates, now)] *= weight
    return result


def _parallel(upper_before: int, lower_before: int, upper_after, lower_after):
    """Whether two voices a fifth or octave apart both move, the same way, to the same
    interval (`upper_after` may be an array of candidates: then an array of answers)."""
    interval = (upper_before - lower_before) % 12
    return (
        np.isin(interval, PERFECT)
        & (upper_after != upper_before)
        & (lower_after != lower_before)
        & ((upper_after - lower_after) % 12 == interval)
        & (np.sign(upper_after - upper_before) == np.sign(lower_after - lower_before))
    )


def _chord_weights(candidates: np.ndarray, voice: int, chord: tuple[int, bool]) -> np.ndarray:
    classes = (candidates + LOWEST_PITCH) % 12
    allowed = classes == chord[0] if voice == 0 else np.isin(classes, list(triad(chord)))
    return allowed.astype(float)


def voices(frame: np.ndarray) -> list[int]:
    return [int(k) for k in np.flatnonzero(frame)]


def parallel_count(roll: np.ndarray) -> int:
    """Parallel fifths and octaves between consecutive frames of four voices: two voices a
    fifth (or octave) apart moving in the same direction to the same interval."""
    count = 0
    for before, after in itertools.pairwise(roll):
        b, a = voices(before), voices(after)
        if len(b) != 4 or len(a) != 4:
            continue
        for upper in range(4):
            for lower in range(upper):
                count += bool(_parallel(b[upper], b[lower], a[upper], a[lower]))
    return count


@dataclass(frozen=True)
class ChoraleFigures:
    parallels_per_15_bars: float
    bass_median: float  # MIDI pitch
    soprano_max: int
    four_voice_share: float  # of sounding frames

    @classmethod
    def of(cls, roll: np.ndarray, frames_per_beat: int) -> ChoraleFigures:
        sounding = [voices(f) for f in roll if f.any()]
        bars = len(roll) / (4 * frames_per_beat)
        return cls(
            parallels_per_15_bars=parallel_count(roll) / max(bars, 1e-9) * BARS_PER_REPORT,
            bass_median=float(np.median([v[0] + LOWEST_PITCH for v in sounding])) if sounding else 0.0,
            soprano_max=max((v[-1] + LOWEST_PITCH for v in sounding), default=0),
            four_voice_share=float(np.mean([len(v) == 4 for v in sounding])) if sounding else 0.0,
        )
