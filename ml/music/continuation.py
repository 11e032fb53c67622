"""The MIDI file a continuation is handed back in: the user's own events for the bars the
model read, untouched (notes, onsets, durations, velocities, instruments, tempo map, time
and key signatures, at the file's own resolution), then the model's music at the user's
tempo and in the user's key. Each of the user's tracks keeps its name (Soprano, 1st
Violin…), a karaoke file its words. The continuation is shared among the user's parts by
register, each part's share on its own channel and instrument at its usual velocity, in a
track of its own named after it ("Cello (continued)"), so the new music stays apart from
the user's and each line goes on where it was."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ml.music.form import Reprise
from ml.music.generate import PianoSample
from ml.music.keyboard import KEYS, LOWEST_PITCH
from ml.music.midi_window import MAX_NAME_BYTES, TRACK_NAME, WindowNote
from ml.music.pianoroll import note_runs
from ml.music.prime import PrimePiece
from ml.music.request import PianoRequest
from ml.music.smf import Event, smf

CONTINUATION_NAME = b"Balladeer (continued)"  # a new track's name where its part has none
CONTINUED = b" (continued)"  # after a part's own name: "Cello (continued)"


def continuation_request(
    prime: PrimePiece,
    seconds: float,
    frames_per_beat: int,
    *,
    temperature: float = 1.0,
    seed: int | None = None,
    max_notes: int | None = None,
) -> PianoRequest:
    """What the model is asked to play after `prime` (read on its grid, ending on a barline):
    `seconds` at the tempo the piece ends in, keeping its rhythm and coming back to its
    phrases (ml.music.form.Reprise) where its bars are whole frames (not 3/8 on a
    quarter-note grid)."""
    bar = prime.quarters_per_bar * frames_per_beat
    reprise = Reprise(int(bar), prime.pickup_frames(frames_per_beat)) if bar == int(bar) else None
    return PianoRequest(
        seconds=seconds,
        frames=prime.frames_for(seconds, frames_per_beat),
        temperature=temperature,
        seed=seed,
        prime=prime.roll,
        onsets_per_frame=prime.onsets_per_frame,
        max_notes=max_notes,
        reprise=reprise,
    )


def continuation_midi(prime: PrimePiece, sample: PianoSample) -> bytes:
    """A format-1 MIDI file: a conductor track, one track per instrument of the user's
    part, and one for the continuation (the sample's frames after its prime)."""
    window = prime.window
    start = window.start_tick
    conductor: list[Event] = []
    for tick, microseconds in window.tempos:
        conductor.append((max(start + tick, 0), 0, b"\xff\x51\x03" + microseconds.to_bytes(3, "big")))
    for tick, numerator, denominator in window.time_signatures:
        power = max(denominator.bit_length() - 1, 0)
        conductor.append((max(start + tick, 0), 0, bytes((0xFF, 0x58, 4, numerator, power, 24, 8))))
    for tick, sharps, minor in window.key_signatures:
        conductor.append((max(start + tick, 0), 0, bytes((0xFF, 0x59, 2, sharps & 0xFF, int(minor)))))

    parts: dict[tuple[int, int], list[Event]] = defaultdict(list)
    programs: dict[tuple[int, int], int] = {}
    for note in window.notes:
        part = (note.track, note.channel)
        programs.setdefault(part, note.program)
        parts[part] += _note(note.channel, note.pitch, note.velocity, start + note.start, start + note.end)
    for tick, track, kind, text in window.words:  # a karaoke file's words, in its own track
        parts[(track, -1)] += [(start + tick, 0, _meta(kind, text))]
    tracks = [conductor]
    for part, events in sorted(parts.items()):
        name = window.track_names.get(part[0])
        named = [(0, -2, _meta(TRACK_NAME, name))] if name else []
        program = [(0, -1, bytes((0xC0 | part[1], programs[part])))] if part in programs else []
        tracks.append([*named, *program, *events])

    ticks_per_frame = window.resolution / sample.frames_per_beat
    voices = _Voices.of(window.notes)
    continued: dict[tuple[int, int], list[Event]] = defaultdict(list)
    for key, on, off in note_runs(sample.roll[sample.prime_frames :]):
        pitch = key + LOWEST_PITCH - prime.shift  # back to the user's key and register
        if not LOWEST_PITCH <= pitch < LOWEST_PITCH + KEYS:
            continue
        part = voices.part_for(pitch)
        tick_on = start + round((sample.prime_frames + on) * ticks_per_frame)
        tick_off = start + round((sample.prime_frames + off) * ticks_per_frame)
        continued[part] += _note(part[1], pitch, voices.velocity(part), tick_on, tick_off)
    for part, events in sorted(continued.items(), key=lambda item: voices.median(item[0])):
        name = window.track_names.get(part[0])
        title = (name + CONTINUED)[:MAX_NAME_BYTES] if name else CONTINUATION_NAME
        program = bytes((0xC0 | part[1], programs[part]))
        tracks.append([(0, -2, _meta(TRACK_NAME, title)), (0, -1, program), *events])
    return smf(tracks, window.resolution)


class _Voices:
    """The user's parts (track, channel) by register: a continuation's note goes to the part
    whose range holds it, the nearest by median pitch among those (the lowest notes to the
    lowest part, as a cello's line goes on on the cello)."""

    def __init__(self, ranges: dict[tuple[int, int], tuple[int, int, float, int]]) -> None:
        self.ranges = ranges  # part → (lowest, highest, median pitch, median velocity)

    @classmethod
    def of(cls, notes: list[WindowNote]) -> _Voices:
        pitches: dict[tuple[int, int], list[WindowNote]] = defaultdict(list)
        for note in notes:
            pitches[(note.track, note.channel)].append(note)
        return cls(
            {
                part: (
                    min(n.pitch for n in played),
                    max(n.pitch for n in played),
                    float(np.median([n.pitch for n in played])),
                    int(np.median([n.velocity for n in played])),
                )
                for part, played in pitches.items()
            }
        )

    def part_for(self, pitch: int) -> tuple[int, int]:
        holding = [p for p, (low, high, *_) in self.ranges.items() if low <= pitch <= high]
        return min(holding or self.ranges, key=lambda p: abs(self.ranges[p][2] - pitch))

    def median(self, part: tuple[int, int]) -> float:
        return self.ranges[part][2]

    def velocity(self, part: tuple[int, int]) -> int:
        return self.ranges[part][3]


def _meta(kind: int, text: bytes) -> bytes:
    """A meta event of at most 127 bytes (one length byte): a track name, a lyric."""
    return bytes((0xFF, kind, len(text))) + text


def _note(channel: int, pitch: int, velocity: int, on: int, off: int) -> list[Event]:
    return [
        (on, 1, bytes((0x90 | channel, pitch, velocity))),
        (max(off, on + 1), 0, bytes((0x80 | channel, pitch, 0))),
    ]
