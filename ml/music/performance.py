"""How a generated piece is played: barred in the meter its notes follow, and with a
player's dynamics instead of one velocity: downbeats accented, each four-bar phrase
swelling to its third bar and relaxing at its cadence, the melody (the top voice) over the
accompaniment and the bass under it, and a quieter last bar."""

from __future__ import annotations

import numpy as np
import pretty_midi

from ml.music.form import PHRASE_BARS, Meter
from ml.music.pianoroll import LOWEST_PITCH, roll_to_midi

BASE_VELOCITY = 70
DOWNBEAT, STRONG_BEAT, OFFBEAT = 10, 4, -4
PHRASE_ARC = (0, 4, 6, -2)  # by bar of the phrase
TOP_VOICE, BASS, INNER = 8, -8, -2
LAST_BAR = -6
VELOCITY_RANGE = (35, 115)


def performed_midi(
    roll: np.ndarray, tempo_bpm: float, frames_per_beat: int, meter: Meter, shift: int = 0
) -> pretty_midi.PrettyMIDI:
    """The roll as a one-piano MIDI with its time signature (a pickup gets a short first
    bar) and shaped velocities, every pitch moved by `shift` semitones."""
    midi = roll_to_midi(roll, tempo_bpm, frames_per_beat)
    for note in midi.instruments[0].notes:
        note.pitch += shift
    seconds_per_frame = 60.0 / tempo_bpm / frames_per_beat
    numerator, denominator = meter.signature
    if meter.pickup_beats:
        midi.time_signature_changes.append(pretty_midi.TimeSignature(meter.pickup_beats, 4, 0.0))
    start = meter.pickup_beats * frames_per_beat * seconds_per_frame
    midi.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, start))
    last_bar_from = _last_bar_start(len(roll), frames_per_beat, meter)
    (piano,) = midi.instruments
    by_onset: dict[int, list[pretty_midi.Note]] = {}
    for note in piano.notes:
        by_onset.setdefault(round(note.start / seconds_per_frame), []).append(note)
    for frame, notes in by_onset.items():
        level = (
            BASE_VELOCITY
            + _metric_accent(frame, frames_per_beat, meter)
            + _phrase_arc(frame, frames_per_beat, meter)
        )
        if frame >= last_bar_from:
            level += LAST_BAR
        pitches = sorted(n.pitch for n in notes)
        for note in notes:
            voice = TOP_VOICE if note.pitch == pitches[-1] else BASS if note.pitch == pitches[0] else INNER
            if len(pitches) == 1:
                voice = 0 if note.pitch >= LOWEST_PITCH + 39 else BASS  # alone: a melody note, or a bass
            note.velocity = int(np.clip(level + voice, *VELOCITY_RANGE))
    return midi


def _position(frame: int, frames_per_beat: int, meter: Meter) -> tuple[int, float]:
    """(bar index counted from the first downbeat, beat within the bar)."""
    beat = frame / frames_per_beat - meter.pickup_beats
    bar = int(np.floor(beat / meter.beats))
    return bar, beat - bar * meter.beats


def _metric_accent(frame: int, frames_per_beat: int, meter: Meter) -> int:
    _, beat = _position(frame, frames_per_beat, meter)
    if beat == 0:
        return DOWNBEAT
    if meter.compound:  # two dotted quarters: the second at 1.5 beats; eighths between
        return STRONG_BEAT if beat == 1.5 else 0
    if beat != int(beat):
        return OFFBEAT
    return STRONG_BEAT if meter.beats == 4 and beat == 2 else 0


def _phrase_arc(frame: int, frames_per_beat: int, meter: Meter) -> int:
    bar, _ = _position(frame, frames_per_beat, meter)
    return PHRASE_ARC[bar % PHRASE_BARS] if bar >= 0 else 0


def _last_bar_start(frames: int, frames_per_beat: int, meter: Meter) -> int:
    bar_frames = meter.bar_frames(frames_per_beat)
    pickup = meter.pickup_beats * frames_per_beat
    return pickup + max((frames - pickup - 1) // bar_frames, 0) * bar_frames
