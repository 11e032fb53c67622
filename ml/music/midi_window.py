"""Reading the opening of a Standard MIDI File, bounded by what is read.

A user's file can claim anything: a note held for ten million ticks, a hundred thousand
notes in one beat, thousands of tracks. General MIDI libraries decode the whole file and
lay a time table over its whole span, so a 44-byte file can cost seconds and gigabytes.
This reader decodes each track only up to a window past its first note, counts every event
it decodes against a stated limit, and keeps notes, tempo, meter and key signature events
of the window alone: its cost is bounded by the window and the limit, never by the span.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ml.errors import DataError

MAX_EVENTS = 100_000  # events decoded in all tracks together before a file is refused
MAX_TRACKS = 1_024
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}  # by status high nibble
_TEMPO, _TIME_SIGNATURE, _KEY_SIGNATURE, _END_OF_TRACK = 0x51, 0x58, 0x59, 0x2F
TRACK_NAME = 0x03
_TEXT, _LYRIC = 0x01, 0x05  # a karaoke (.kar) file's syllables are one or the other
MAX_NAME_BYTES = 127  # a track name kept (one length byte when written back)


@dataclass(frozen=True)
class WindowNote:
    pitch: int
    velocity: int
    start: int  # ticks from the window's start
    end: int
    channel: int
    program: int
    track: int


@dataclass(frozen=True)
class MidiWindow:
    """The pitched notes (drums left out) and the meta events of a file's first bars, in
    ticks from its first note; `span` ticks long."""

    resolution: int  # ticks per quarter note
    start_tick: int  # where the first note lies in the file (the window's tick 0)
    span: int
    notes: list[WindowNote] = field(repr=False)
    tempos: list[tuple[int, int]]  # (tick, microseconds per quarter); ticks ≤ 0 mean "at the start"
    time_signatures: list[tuple[int, int, int]]  # (tick, numerator, denominator)
    key_signatures: list[tuple[int, int, bool]]  # (tick, sharps (−7..7), minor)
    events_read: int
    track_names: dict[int, bytes] = field(default_factory=dict)  # track index → its name, as written
    # Text and lyric events (a .kar file's words) among the notes read: (tick, track, type, text).
    words: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    cut_short: bool = False  # the file ends inside a track, or before the tracks it declares

    @property
    def first_note(self) -> int:
        """Ticks from the window's start to its first note (0 unless rebased)."""
        return min((n.start for n in self.notes), default=0)

    @property
    def opening_key_signature(self) -> tuple[int, bool] | None:
        """(sharps, minor) of the key signature in force at the first note, if the file has one."""
        first = self.first_note
        at_start = [(sharps, minor) for tick, sharps, minor in self.key_signatures if tick <= first]
        return at_start[-1] if at_start else None

    def rebased(self, origin: int) -> MidiWindow:
        """The same events counted from `origin`, an earlier tick of the file (a barline's
        beat before the first note)."""
        d = self.start_tick - origin
        return replace(
            self,
            start_tick=origin,
            span=self.span + d,
            notes=[replace(n, start=n.start + d, end=n.end + d) for n in self.notes],
            tempos=[(t + d, us) for t, us in self.tempos],
            time_signatures=[(t + d, n, m) for t, n, m in self.time_signatures],
            key_signatures=[(t + d, k, m) for t, k, m in self.key_signatures],
            words=[(t + d, *rest) for t, *rest in self.words],
        )

    def clipped(self, ticks: int) -> MidiWindow:
        """The first `ticks` of this window: notes that start before, cut there."""
        notes = [replace(n, end=min(n.end, ticks)) for n in self.notes if n.start < ticks]
        return replace(
            self,
            span=max((n.end for n in notes), default=0),
            notes=notes,
            tempos=[t for t in self.tempos if t[0] < ticks],
            time_signatures=[t for t in self.time_signatures if t[0] < ticks],
            key_signatures=[k for k in self.key_signatures if k[0] < ticks],
            words=[w for w in self.words if w[0] < ticks],
        )


@dataclass
class _Track:
    """What one track's decoding found, in absolute ticks of the file."""

    notes: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)  # pitch vel on off ch prog
    metas: list[tuple[int, int, bytes]] = field(default_factory=list)  # (tick, type, data)
    first_note: int | None = None
    name: bytes | None = None
    words: list[tuple[int, int, bytes]] = field(default_factory=list)  # (tick, type, text)


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left, self.limit = limit, limit

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise DataError(f"it has more than {self.limit:,} MIDI events in its opening bars")


def read_midi_window(data: bytes, quarters: float, max_events: int = MAX_EVENTS) -> MidiWindow:
    """The first `quarters` quarter notes of a MIDI file, counted from its first note.

    Raises DataError with a reason a user can read for anything that is not a MIDI file
    this can use (no header, SMPTE timing, corrupt events, too many events or tracks).
    """
    if data[:4] != b"MThd" or len(data) < 14:
        raise DataError("it does not start with a MIDI header (MThd)")
    header_length = int.from_bytes(data[4:8], "big")
    tracks_declared = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    if division & 0x8000:
        raise DataError("it counts time in SMPTE frames, which is not supported; export it with beats")
    if division == 0:
        raise DataError("its header gives 0 ticks per beat")
    if tracks_declared > MAX_TRACKS:
        raise DataError(f"it declares {tracks_declared:,} tracks; the limit is {MAX_TRACKS:,}")
    window = max(round(quarters * division), 1)
    budget = _Budget(max_events)
    tracks: list[_Track] = []
    position = 8 + header_length
    cut_short = False
    while position + 8 <= len(data) and len(tracks) < MAX_TRACKS:
        kind, length = data[position : position + 4], int.from_bytes(data[position + 4 : position + 8], "big")
        body = data[position + 8 : position + 8 + length]  # a truncated last chunk is read as far as it goes
        cut_short |= len(body) < length
        position += 8 + length
        if kind == b"MTrk":
            tracks.append(_read_track(body, window, budget))
    if not tracks:
        raise DataError("it holds no tracks")
    firsts = [t.first_note for t in tracks if t.first_note is not None]
    if not firsts:
        raise DataError("it has no notes (it is empty, or drums only)")
    start = min(firsts)
    end = start + window
    notes = [
        WindowNote(pitch, velocity, on - start, min(off, end) - start, channel, program, index)
        for index, track in enumerate(tracks)
        for pitch, velocity, on, off, channel, program in track.notes
        if start <= on < end
    ]
    notes.sort(key=lambda n: (n.start, n.pitch))
    metas = sorted((tick - start, kind, body) for t in tracks for tick, kind, body in t.metas if tick < end)
    return MidiWindow(
        resolution=division,
        start_tick=start,
        span=max(n.end for n in notes),
        notes=notes,
        tempos=[
            (tick, int.from_bytes(b[:3], "big")) for tick, kind, b in metas if kind == _TEMPO and len(b) >= 3
        ],
        time_signatures=[
            (tick, b[0], 2 ** min(b[1], 6))
            for tick, kind, b in metas
            if kind == _TIME_SIGNATURE and len(b) >= 2 and b[0]
        ],
        key_signatures=[
            (tick, int.from_bytes(b[:1], "big", signed=True), bool(b[1]))
            for tick, kind, b in metas
            if kind == _KEY_SIGNATURE and len(b) >= 2 and -7 <= int.from_bytes(b[:1], "big", signed=True) <= 7
        ],
        events_read=budget.limit - budget.left,
        track_names={index: t.name for index, t in enumerate(tracks) if t.name},
        cut_short=cut_short or len(tracks) < tracks_declared,
        words=sorted(
            (tick - start, index, kind, text)
            for index, t in enumerate(tracks)
            for tick, kind, text in t.words
            if start <= tick < end
        ),
    )


def _read_track(body: bytes, window: int, budget: _Budget) -> _Track:
    """Decode one track until `window` ticks past its own first note (no later event of it can
    fall inside the file's window, which starts at or before that note), or its end."""
    track = _Track()
    sounding: dict[tuple[int, int], list[tuple[int, int, int]]] = {}  # (channel, pitch) → [(on, vel, prog)]
    programs = [0] * 16
    tick, i, status, size = 0, 0, 0, len(body)
    while i < size:
        budget.spend()
        delta, i = _quantity(body, i)
        tick += delta
        if track.first_note is not None and tick >= track.first_note + window:
            break
        if i >= size:
            break
        if body[i] >= 0x80:
            status = body[i]
            i += 1
        elif status < 0x80:
            raise DataError("a track has data with no status byte before it")
        if status == 0xFF:  # meta event: type, length, data
            if i >= size:
                break
            kind = body[i]
            length, i = _quantity(body, i + 1)
            if kind == _END_OF_TRACK:
                break
            if kind in (_TEMPO, _TIME_SIGNATURE, _KEY_SIGNATURE):
                track.metas.append((tick, kind, body[i : i + length]))
            elif kind == TRACK_NAME and track.name is None:
                track.name = body[i : i + min(length, MAX_NAME_BYTES)]
            elif kind in (_TEXT, _LYRIC) and tick > 0:  # tick 0 holds a karaoke file's headers
                track.words.append((tick, kind, body[i : i + min(length, MAX_NAME_BYTES)]))
            i += length
            status = 0  # meta and sysex events cancel running status
            continue
        if status in (0xF0, 0xF7):  # sysex: length, data
            length, i = _quantity(body, i)
            i += length
            status = 0
            continue
        if status >= 0xF0:
            raise DataError(f"a track holds the status byte 0x{status:02X}, which a MIDI file cannot")
        count = _DATA_BYTES[status >> 4]
        if i + count > size:
            break
        first, second = body[i], body[i + 1] if count == 2 else 0
        i += count
        kind, channel = status >> 4, status & 0x0F
        if kind == 0xC:
            programs[channel] = first & 0x7F
        if channel == DRUM_CHANNEL or kind not in (0x8, 0x9):
            continue
        key = (channel, first & 0x7F)
        if kind == 0x9 and second:
            sounding.setdefault(key, []).append((tick, second & 0x7F, programs[channel]))
            if track.first_note is None:
                track.first_note = tick
        elif sounding.get(key):
            on, velocity, program = sounding[key].pop(0)
            track.notes.append((key[1], velocity, on, max(tick, on + 1), channel, program))
    return _closed(track, sounding, tick)


def _closed(track: _Track, sounding: dict, tick: int) -> _Track:
    """Notes still sounding where decoding stopped end there (at least a tick after they began);
    the window clips them later."""
    for (channel, pitch), starts in sounding.items():
        for on, velocity, program in starts:
            track.notes.append((pitch, velocity, on, max(tick, on + 1), channel, program))
    return track


def _quantity(body: bytes, i: int) -> tuple[int, int]:
    """A variable-length quantity at `i`: (value, index after it)."""
    value = 0
    for _ in range(4):
        if i >= len(body):
            return value, i
        byte = body[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i
    raise DataError("a track has a malformed variable-length number")
