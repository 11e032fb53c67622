"""Form for a model that hears no bars: the meter its music follows, read from the notes,
and a phrase plan per style (AABB for folk tunes, AABC for chorales, ABCA for piano pieces)
whose repeats are played back into the model as if it had written them, so it carries on
from the repeat. A repeat's last bar is the model's own (first and second endings), and
the piece ends where a phrase ends.

Also the two form figures of the music form report: the share of bars that repeat an
earlier bar (exactly or transposed) and the share whose melody motif (top voice: pitch
intervals and rhythm) appeared before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

PHRASE_BARS = 4
DECIDE_BEATS = 12  # the meter is read from the first 12 beats: 4 bars of 3, 3 bars of 4
AUTO_METER = "auto"
METERS = {"4/4": (4, False), "3/4": (3, False), "6/8": (3, True)}  # what /midi meter: offers
# Triple time must recur this much more clearly than duple: on the first 12 beats of jukedeck
# tunes this reads 86% right (84% at 0) and calls 39% triple (the tunes: 42%).
TRIPLE_MARGIN = 0.3
COMPOUND_OFFBEAT_SHARE = 0.3  # every jukedeck 3/4 and 6/8 tune reads right at this cut


@dataclass(frozen=True)
class Meter:
    beats: int  # quarter notes per bar: 3 or 4
    compound: bool = False  # a triple bar heard as two halves of three eighths: 6/8
    pickup_beats: int = 0  # beats before the first downbeat

    @property
    def signature(self) -> tuple[int, int]:
        return (6, 8) if self.compound else (self.beats, 4)

    def bar_frames(self, frames_per_beat: int) -> int:
        return self.beats * frames_per_beat

    def __str__(self) -> str:
        numerator, denominator = self.signature
        return f"{numerator}/{denominator}"


COMMON_TIME = Meter(4)


def onsets(roll: np.ndarray) -> np.ndarray:
    """(frames, keys) bool: where a key starts sounding."""
    roll = roll.astype(bool)
    starts = roll.copy()
    starts[1:] &= ~roll[:-1]
    return starts


def harmonic_changes(roll: np.ndarray, frames_per_beat: int) -> np.ndarray:
    """Per beat: how much the harmony (pitch classes sounding) and the bass changed from the
    beat before; bar lines are where they change most often."""
    beats = len(roll) // frames_per_beat
    at_beats = roll[: beats * frames_per_beat : frames_per_beat].astype(bool)
    classes = np.stack([at_beats[:, pc::12].any(axis=1) for pc in range(12)], axis=1)
    harmony = np.r_[1.0, (classes[1:] != classes[:-1]).sum(axis=1) / 3.0]
    lowest = np.where(at_beats.any(axis=1), at_beats.argmax(axis=1), -1)
    bass = np.r_[1.0, (lowest[1:] != lowest[:-1]).astype(float)]
    return harmony + bass


def _autocorrelation(x: np.ndarray, lag: int) -> float:
    if len(x) <= lag + 1:
        return 0.0
    a, b = x[:-lag] - x.mean(), x[lag:] - x.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def detect_meter(
    roll: np.ndarray, frames_per_beat: int, allowed: tuple[int, ...] = (3, 4), compound: bool | None = None
) -> Meter:
    """3 or 4 beats a bar: the period at which changes of harmony and bass recur (their
    autocorrelation at 3 and 6 beats against 4 and 8); the downbeat is the phase where they
    change most. On an eighth-note grid a triple bar moving in eighths reads as 6/8. On the
    jukedeck Nottingham tunes: triple against duple right on 98%, 6/8 against 3/4 on all."""
    changes = harmonic_changes(roll, frames_per_beat)
    if len(changes) < 6:
        return COMMON_TIME
    triple = _autocorrelation(changes, 3) + _autocorrelation(changes, 6)
    duple = _autocorrelation(changes, 4) + _autocorrelation(changes, 8)
    beats = (3 if triple > duple + TRIPLE_MARGIN else 4) if len(allowed) > 1 else allowed[0]
    later = [changes[phase + beats :: beats] for phase in range(beats)]  # the opening's change left out
    pickup = max(range(beats), key=lambda phase: later[phase].mean() if len(later[phase]) else 0.0)
    if compound is None:
        compound = _compound(roll, frames_per_beat)
    return Meter(beats, beats == 3 and compound, pickup)


def _compound(roll: np.ndarray, frames_per_beat: int) -> bool:
    """On an eighth-note grid: a triple bar is 6/8 when its off-beat eighths carry more than
    COMPOUND_OFFBEAT_SHARE of the onsets (jigs run in eighths; waltzes move in quarters)."""
    if frames_per_beat != 2:
        return False
    per_frame = onsets(roll).sum(axis=1)
    total = per_frame.sum()
    return bool(total and per_frame[1::2].sum() / total > COMPOUND_OFFBEAT_SHARE)


@dataclass(frozen=True)
class FormPlan:
    """Parts of PHRASE_BARS bars each, cycled to the piece's end: a letter seen before
    repeats the first `kept_bars` bars of that part, and the model plays the rest anew
    (first and second endings, a varied return)."""

    parts: str
    kept_bars: int = PHRASE_BARS - 1
    meters: tuple[int, ...] = (3, 4)  # beats a bar the style comes in
    compound: bool | None = None  # a triple bar written 6/8 (True), 3/4 (False), or as heard

    def meter_of(self, roll: np.ndarray, frames_per_beat: int) -> Meter:
        return detect_meter(roll, frames_per_beat, self.meters, self.compound)

    def in_meter(self, meter: str) -> FormPlan:
        """This plan in the meter a user asked for ("auto": as heard)."""
        if meter == AUTO_METER:
            return self
        beats, compound = METERS[meter]
        return replace(self, meters=(beats,), compound=compound)

    def copies(self, meter: Meter, frames_per_beat: int, frames: int) -> dict[int, int]:
        """Frame → the earlier frame it repeats, over a piece of `frames` frames."""
        bar = meter.bar_frames(frames_per_beat)
        part = PHRASE_BARS * bar
        first: dict[str, int] = {}
        copied: dict[int, int] = {}
        for k in range(-(-frames // part)):
            letter = self.parts[k % len(self.parts)]
            start = k * part
            if letter not in first:
                first[letter] = start
                continue
            kept = self.kept_bars * bar
            for offset in range(min(kept, frames - start)):
                copied[start + offset] = first[letter] + offset
        return copied

    def cadences(self, meter: Meter, frames_per_beat: int, frames: int) -> dict[int, str]:
        """The last frame of each part → "half" (on the dominant: the first of each pair of
        parts, as a tune's first ending) or "authentic" (on the tonic: the second, and the
        piece's end)."""
        part = PHRASE_BARS * meter.bar_frames(frames_per_beat)
        ends = {k * part + part - 1: ("half" if k % 2 == 0 else "authentic") for k in range(frames // part)}
        ends[frames - 1] = "authentic"
        return ends

    def length(self, meter: Meter, frames_per_beat: int, frames: int) -> int:
        """`frames` moved to the nearest phrase end (a piece shorter than a phrase is kept)."""
        part = PHRASE_BARS * meter.bar_frames(frames_per_beat)
        if frames < part:
            return frames
        return max(round(frames / part), 1) * part


@dataclass(frozen=True)
class Reprise:
    """A continuation's lookback into its prime: every other phrase (PHRASE_BARS bars from
    the prime's end, which is a barline) opens with the first `kept_bars` bars of one of the
    prime's phrases, in turn, and the model plays the rest: the user's own motifs come
    back, varied, instead of another piece glued on."""

    bar_frames: int
    first_barline: int  # the prime's frame where its first whole bar starts (after a pickup)
    kept_bars: int = 2

    def copies(self, prime_frames: int, frames: int) -> dict[int, int]:
        """Frame → the prime's frame it repeats, over a piece of `frames` frames in all."""
        bar = self.bar_frames
        phrase = PHRASE_BARS * bar
        phrases = max((prime_frames - self.first_barline) // phrase, 1)
        copied: dict[int, int] = {}
        for k, start in enumerate(range(prime_frames, frames, 2 * phrase)):
            source = self.first_barline + (k % phrases) * phrase
            for offset in range(min(self.kept_bars * bar, frames - start, prime_frames - source)):
                copied[start + offset] = source + offset
        return copied


def cadence_chord(key: tuple[int, bool], kind: str) -> tuple[int, bool]:
    """(root pitch class, minor) of the chord a cadence ends on in `key` ((tonic, minor)):
    the tonic's own triad, or for a half cadence the major triad on the dominant."""
    tonic, minor = key
    return (tonic, minor) if kind == "authentic" else ((tonic + 7) % 12, False)


def triad(chord: tuple[int, bool]) -> set[int]:
    root, minor = chord
    return {root, (root + (3 if minor else 4)) % 12, (root + 7) % 12}


def plan_for(style: str | None, meter: str = AUTO_METER) -> FormPlan | None:
    """Each style's plan, chosen on the form figures of its validation pieces (docs/REPORT.md):
    folk tunes repeat each part but its ending; a chorale repeats its first phrases (the
    Stollen) but their cadence, then goes on to new ones (the Abgesang), in common time as
    Bach's nearly all are; a piano piece
    returns to its opening two bars after two new parts. `meter`: as a user asked for it."""
    plans = {
        "folk": FormPlan("AABB"),
        "chorale": FormPlan("AABC", meters=(4,)),
        "piano": FormPlan("ABCA", kept_bars=2),
    }
    plan = plans.get(style or "")
    return plan.in_meter(meter) if plan is not None else None


def bars(roll: np.ndarray, frames_per_bar: int) -> list[np.ndarray]:
    """The roll's whole bars, in order (a last partial bar left out)."""
    return [roll[i : i + frames_per_bar] for i in range(0, len(roll) - frames_per_bar + 1, frames_per_bar)]


def repeated_share(roll: np.ndarray, frames_per_bar: int, transposed: bool) -> float:
    """Share of non-empty bars equal to an earlier bar (with `transposed`, also one moved by
    a transposition)."""
    seen: set[bytes] = set()
    repeats = counted = 0
    for bar in bars(roll.astype(bool), frames_per_bar):
        if not bar.any():
            continue
        counted += 1
        if transposed:
            bar = np.roll(bar, -int(np.flatnonzero(bar.any(axis=0))[0]), axis=1)  # lowest key first
        key = bar.tobytes()
        repeats += key in seen
        seen.add(key)
    return repeats / counted if counted else 0.0


def repeated_bar_share(roll: np.ndarray, frames_per_beat: int, meter: Meter) -> float:
    """Share of non-empty bars equal to an earlier bar, exactly or moved by a transposition."""
    return repeated_share(roll, meter.bar_frames(frames_per_beat), transposed=True)


def bar_motifs(roll: np.ndarray, frames_per_bar: int) -> list[tuple | None]:
    """Each whole bar's top-voice motif: the onset positions of its highest notes and their
    intervals from the first (None for a bar with fewer than two such onsets)."""
    starts = onsets(roll)
    motifs: list[tuple | None] = []
    for b, bar in enumerate(bars(roll, frames_per_bar)):
        first = b * frames_per_bar
        notes = []
        for t in range(len(bar)):
            sounding = np.flatnonzero(bar[t])
            if len(sounding) and starts[first + t, sounding[-1]]:
                notes.append((t, int(sounding[-1])))
        motifs.append(tuple((t, pitch - notes[0][1]) for t, pitch in notes) if len(notes) >= 2 else None)
    return motifs


def motif_reuse_share(roll: np.ndarray, frames_per_beat: int, meter: Meter) -> float:
    """Share of bars whose top-voice motif (onset positions and the intervals between its
    notes) appeared in an earlier bar."""
    seen: set[tuple] = set()
    reused = counted = 0
    for motif in bar_motifs(roll, meter.bar_frames(frames_per_beat)):
        if motif is None:
            continue
        counted += 1
        reused += motif in seen
        seen.add(motif)
    return reused / counted if counted else 0.0
