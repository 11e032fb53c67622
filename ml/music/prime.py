"""A user's MIDI file as a prime: its opening bars on a model's grid, read in a process of
its own so that no file can hold the bot's interpreter, its memory or its time.

`python -m ml.music.prime BARS FRAMES_PER_BEAT TRANSPOSE` reads the file's bytes from stdin
under a memory limit and writes the piece (`PrimePiece.to_bytes`) to stdout; a file it cannot use
exits with status 3 and the reason on stderr. It imports numpy and this package's pure
reader alone, so it starts in a fraction of a second, and runs at a lower priority than
the bot.
"""

from __future__ import annotations

import io
import math
import sys
from dataclasses import astuple, dataclass, field, replace

import numpy as np

from ml.errors import DataError
from ml.music.isolated import serve
from ml.music.keyboard import KEYS, LOWEST_PITCH, key_scores, shift_to_c
from ml.music.midi_window import MidiWindow, WindowNote, read_midi_window

MEMORY_LIMIT_BYTES = 1 << 30  # address space of the reader process
DEFAULT_TEMPO_BPM = 120.0  # what MIDI assumes when a file sets no tempo
SIGNATURE_FAVOUR = 0.05  # correlation added to the key signature's keys when the key is read
MAJOR_KEY_NAMES = ("C", "D♭", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
SHARP_NAMES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")
FLAT_NAMES = ("C", "D♭", "D", "E♭", "E", "F", "G♭", "G", "A♭", "A", "B♭", "B")
MINOR_KEY_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "G♯", "A", "B♭", "B")


def window_to_roll(window: MidiWindow, frames_per_beat: int, shift: int = 0) -> np.ndarray:
    """A window on the model's grid, frame 0 at its start, moved by `shift` semitones; as
    long as the window (a prime ends on a barline, rests and all). A frame holds what sounds
    at its instant, as the benchmark sets were sampled: a passing note between two instants
    of a coarse grid is not heard (on a chorale's quarter-note grid, the eighths)."""
    ticks_per_frame = window.resolution / frames_per_beat
    roll = np.zeros((max(math.ceil(window.span / ticks_per_frame - 1e-9), 1), KEYS), dtype=bool)
    for note in window.notes:
        key = note.pitch + shift - LOWEST_PITCH
        if 0 <= key < KEYS:
            start = math.ceil(note.start / ticks_per_frame - 1e-9)
            roll[start : math.ceil(note.end / ticks_per_frame - 1e-9), key] = True
    if not roll.any():
        raise DataError("its notes all lie outside the piano's 88 keys")
    return roll


def barlines(window: MidiWindow, until: int) -> list[int]:
    """The file's barlines (ticks from the window's start) up to `until`, as its time
    signatures lay them: each signature starts a bar, and its bars follow until the next
    (4/4 from the file's start where it sets none)."""
    signatures = [(tick, n, d) for tick, n, d in window.time_signatures] or [(-window.start_tick, 4, 4)]
    lines: list[int] = []
    for i, (tick, numerator, denominator) in enumerate(signatures):
        bar = max(round(numerator * 4 / denominator * window.resolution), 1)
        stop = signatures[i + 1][0] if i + 1 < len(signatures) else until + 1
        lines += range(tick, min(stop, until + 1), bar)
    return lines


def key_of_notes(notes: list[WindowNote], signature: tuple[int, bool] | None = None) -> tuple[int, bool]:
    """(tonic, is minor) from the notes' duration-weighted pitch classes, the later notes
    weighing up to twice the first (a piece may open on its dominant; it comes home), and
    the key signature's two keys favoured by SIGNATURE_FAVOUR of correlation: enough to
    settle a close call (C minor against E♭ major), too little to overrule notes clearly
    in another key (a file saying C major while the music is in G)."""
    histogram = np.zeros(12)
    span = max((n.end for n in notes), default=0) or 1
    for note in notes:
        histogram[note.pitch % 12] += (note.end - note.start) * (1 + note.start / span)
    if not histogram.std():
        return 0, False
    scores = key_scores(histogram)
    if signature is not None:
        sharps, _ = signature
        major = sharps * 7 % 12
        for key in ((major, False), ((major + 9) % 12, True)):
            scores[key] += SIGNATURE_FAVOUR
    return max(scores, key=scores.get)


@dataclass(frozen=True)
class PrimePiece:
    """A user's opening bars as read: their own events (for the reply's MIDI, untouched) and
    the roll the model reads (on its grid, moved to its key by `shift` semitones)."""

    window: MidiWindow
    roll: np.ndarray = field(repr=False)  # (frames, 88) bool, first note at frame 0
    shift: int
    tonic: int  # the key of the notes (pitch class), whatever a key signature says
    minor: bool
    bars: float  # whole bars read after the pickup, in the file's meter
    pickup: int = 0  # ticks from the window's start (a beat at or before the first note) to its first barline

    @property
    def meter(self) -> tuple[int, int]:
        """(numerator, denominator) of the time signature in force where the bars read end
        (what the continuation plays on in); 4/4 if none."""
        at_end = [(n, d) for tick, n, d in self.window.time_signatures if tick < self.window.span]
        return at_end[-1] if at_end else (4, 4)

    def pickup_frames(self, frames_per_beat: int) -> int:
        return round(self.pickup * frames_per_beat / self.window.resolution)

    @property
    def quarters_per_bar(self) -> float:
        numerator, denominator = self.meter
        return numerator * 4 / denominator

    @property
    def tempo_bpm(self) -> float:
        """The tempo in force at the first note (120 if the file sets none)."""
        at_start = [us for tick, us in self.window.tempos if tick <= self.window.first_note]
        return 60_000_000 / at_start[-1] if at_start else DEFAULT_TEMPO_BPM

    @property
    def final_tempo_bpm(self) -> float:
        """The tempo in force at the end of the bars read: the one a continuation plays at."""
        events = sorted(self.window.tempos)
        return 60_000_000 / events[-1][1] if events else DEFAULT_TEMPO_BPM

    def frames_for(self, seconds: float, frames_per_beat: int) -> int:
        """Frames of a grid with `frames_per_beat` that last `seconds` at the final tempo."""
        return max(round(seconds * self.final_tempo_bpm / 60.0 * frames_per_beat), 1)

    @property
    def key_name(self) -> str:
        """ "F♯ minor": spelled with sharps or flats as the file's key signature is, else as
        the key is usually written."""
        signature = self.window.opening_key_signature
        sharps = signature[0] if signature else 0
        if sharps:
            names = SHARP_NAMES if sharps > 0 else FLAT_NAMES
        else:
            names = MINOR_KEY_NAMES if self.minor else MAJOR_KEY_NAMES
        return f"{names[self.tonic]} {'minor' if self.minor else 'major'}"

    @property
    def onsets_per_frame(self) -> float:
        """The user's note onsets per frame of the roll: the rhythm a continuation keeps."""
        return len(self.window.notes) / max(len(self.roll), 1)

    @property
    def bars_text(self) -> str:
        return f"{self.bars:g} bar{'s' if self.bars != 1 else ''}"

    @property
    def summary(self) -> str:
        """Tempo, meter and key as a reader says them: "96 bpm, 4/4, F♯ minor"; a tempo that
        changes within the bars read as "96→120 bpm" (the continuation plays at the last)."""
        numerator, denominator = self.meter
        first, last = round(self.tempo_bpm), round(self.final_tempo_bpm)
        tempo = f"{first} bpm" if first == last else f"{first}→{last} bpm"
        return f"{tempo}, {numerator}/{denominator}, {self.key_name}"

    def regridded(self, frames_per_beat: int, transpose: bool, register: int = 0) -> PrimePiece:
        """The same events on another model's grid and key convention (moved to C major or
        A minor when that model was trained so), `register` semitones up (where the model's
        data lies above sounding pitch): how several models read one piece."""
        shift = (shift_to_c(self.tonic, self.minor) if transpose else 0) + register
        roll = window_to_roll(self.window, frames_per_beat, shift)
        return PrimePiece(self.window, roll, shift, self.tonic, self.minor, self.bars, self.pickup)

    def to_bytes(self) -> bytes:
        """The piece as .npz (no pickle): what the reader process hands back."""
        w = self.window
        buffer = io.BytesIO()
        np.savez(
            buffer,
            roll=self.roll,
            notes=np.array([astuple(n) for n in w.notes], dtype=np.int64).reshape(-1, 7),
            tempos=np.array(w.tempos, dtype=np.int64).reshape(-1, 2),
            time_signatures=np.array(w.time_signatures, dtype=np.int64).reshape(-1, 3),
            key_signatures=np.array(w.key_signatures, dtype=np.int64).reshape(-1, 3),
            scalars=np.array(
                [
                    w.resolution,
                    w.start_tick,
                    w.span,
                    w.events_read,
                    self.shift,
                    self.tonic,
                    self.minor,
                    w.cut_short,
                    self.pickup,
                ]
            ),
            bars=np.array(self.bars),
            name_tracks=np.array(list(w.track_names), dtype=np.int64),
            name_lengths=np.array([len(n) for n in w.track_names.values()], dtype=np.int64),
            name_bytes=np.frombuffer(b"".join(w.track_names.values()), dtype=np.uint8),
            words=np.array([(t, track, kind) for t, track, kind, _ in w.words], dtype=np.int64).reshape(
                -1, 3
            ),
            word_lengths=np.array([len(text) for *_, text in w.words], dtype=np.int64),
            word_bytes=np.frombuffer(b"".join(text for *_, text in w.words), dtype=np.uint8),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PrimePiece:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            resolution, start_tick, span, events, shift, tonic, minor, cut_short, pickup = (
                int(v) for v in z["scalars"]
            )
            window = MidiWindow(
                resolution=resolution,
                start_tick=start_tick,
                span=span,
                notes=[WindowNote(*map(int, row)) for row in z["notes"]],
                tempos=[(int(t), int(u)) for t, u in z["tempos"]],
                time_signatures=[(int(t), int(n), int(d)) for t, n, d in z["time_signatures"]],
                key_signatures=[(int(t), int(k), bool(m)) for t, k, m in z["key_signatures"]],
                events_read=events,
                cut_short=bool(cut_short),
                track_names=dict(
                    zip(z["name_tracks"].tolist(), _texts(z["name_lengths"], z["name_bytes"]), strict=True)
                ),
                words=[
                    (int(t), int(track), int(kind), text)
                    for (t, track, kind), text in zip(
                        z["words"], _texts(z["word_lengths"], z["word_bytes"]), strict=True
                    )
                ],
            )
            return cls(window, z["roll"].astype(bool), shift, tonic, bool(minor), float(z["bars"]), pickup)


def _texts(lengths: np.ndarray, data: np.ndarray) -> list[bytes]:
    """Byte strings stored end to end (np.savez holds no bytes objects without pickle)."""
    raw, ends = data.tobytes(), np.cumsum(lengths)
    return [raw[end - length : end] for length, end in zip(lengths.tolist(), ends.tolist(), strict=True)]


def read_prime(data: bytes, bars: float, frames_per_beat: int, transpose: bool) -> PrimePiece:
    """The first `bars` bars of a MIDI file, in its own meter, after any pickup, so that
    what follows starts on a barline. Only those are decoded (see ml.music.midi_window), so
    a hostile file costs what its opening costs; any reason it cannot be used is a DataError."""
    quarters = (bars + 1) * 4  # as if in 4/4, a pickup's bar more, until the meter is known
    window = read_midi_window(data, quarters)
    longest = max((n * 4 / d for _, n, d in window.time_signatures), default=4)
    if longest > 4:  # longer bars: read again, as far as they reach
        window = read_midi_window(data, (bars + 1) * longest)
    reach = window.span + round((bars + 1) * longest * window.resolution)
    early = window.resolution // 8  # a played first note a little after its barline is on it
    lines = [t for t in barlines(window, reach) if t >= -early]
    first = lines[0] if lines else 0
    # the window starts on the beat at or before the first note: the grid of every model
    origin = first - math.ceil(first / window.resolution - 1e-9) * window.resolution
    after = [t for t in lines if t >= window.span]  # the first barline after the last note read
    end = min(lines[min(int(bars), len(lines) - 1)], after[0] if after else window.span)
    window = replace(window.rebased(window.start_tick + origin).clipped(end - origin), span=end - origin)
    tonic, minor = key_of_notes(window.notes, window.opening_key_signature)
    shift = shift_to_c(tonic, minor) if transpose else 0
    roll = window_to_roll(window, frames_per_beat, shift)
    whole_bars = sum(first <= t < end for t in lines)
    return PrimePiece(window, roll, shift, tonic, minor, min(bars, whole_bars), first - origin)


def main(argv: list[str]) -> int:
    bars, frames_per_beat, transpose = float(argv[0]), int(argv[1]), argv[2] == "1"

    def read(data: bytes) -> bytes:
        return read_prime(data, bars, frames_per_beat, transpose).to_bytes()

    return serve(read, MEMORY_LIMIT_BYTES, "reading it needs more memory than a MIDI file's opening can")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
