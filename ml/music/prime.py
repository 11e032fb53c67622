"""A user's MIDI file as a prime: its opening bars on a model's grid, read in a process of
its own so that no file can hold the bot's interpreter, its memory or its time.

`python -m ml.music.prime QUARTERS FRAMES_PER_BEAT TRANSPOSE` reads the file's bytes from
stdin under a memory limit and writes the roll as .npy to stdout; a file it cannot use
exits with status 3 and the reason on stderr. It imports numpy and this package's pure
reader alone, so it starts in a fraction of a second, and runs at a lower priority than
the bot.
"""

from __future__ import annotations

import io
import os
import resource
import sys

import numpy as np

from ml.errors import DataError
from ml.music.keyboard import KEYS, LOWEST_PITCH, key_of_histogram, shift_to_c
from ml.music.midi_window import MidiWindow, read_midi_window

UNUSABLE = 3  # exit status: the file cannot be used (the reason is on stderr)
MEMORY_LIMIT_BYTES = 1 << 30  # address space of the reader process
NICENESS = 10


def window_to_roll(window: MidiWindow, frames_per_beat: int, transpose: bool) -> tuple[np.ndarray, int]:
    """(roll, semitones applied) of a file's opening on the model's grid, its first note at
    frame 0. With `transpose`, the key comes from the notes (a key signature can be wrong)."""
    shift = 0
    if transpose:
        histogram = np.zeros(12)
        for note in window.notes:
            histogram[note.pitch % 12] += note.end - note.start
        shift = shift_to_c(*key_of_histogram(histogram))
    ticks_per_frame = window.resolution / frames_per_beat
    roll = np.zeros((max(int(np.ceil(window.span / ticks_per_frame)), 1), KEYS), dtype=bool)
    for note in window.notes:
        key = note.pitch + shift - LOWEST_PITCH
        if 0 <= key < KEYS:
            start = min(int(np.rint(note.start / ticks_per_frame)), len(roll) - 1)
            end = max(int(np.rint(note.end / ticks_per_frame)), start + 1)
            roll[start:end, key] = True
    sounding = np.flatnonzero(roll.any(axis=1))
    return (roll[: sounding[-1] + 1] if len(sounding) else roll[:0]), shift


def read_prime(data: bytes, quarters: float, frames_per_beat: int, transpose: bool) -> np.ndarray:
    """The first `quarters` quarter notes of a MIDI file as a prime roll. Only those are
    decoded (see ml.music.midi_window), so a hostile file costs what its opening costs; any
    reason it cannot be used is a DataError."""
    roll, _ = window_to_roll(read_midi_window(data, quarters), frames_per_beat, transpose)
    if not len(roll):
        raise DataError("its notes all lie outside the piano's 88 keys")
    return roll


def main(argv: list[str]) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    os.nice(NICENESS)  # generation for everyone goes first
    quarters, frames_per_beat, transpose = float(argv[0]), int(argv[1]), argv[2] == "1"
    try:
        roll = read_prime(sys.stdin.buffer.read(), quarters, frames_per_beat, transpose)
    except DataError as exc:
        print(exc, file=sys.stderr)
        return UNUSABLE
    except MemoryError:
        print("reading it needs more memory than a MIDI file's opening can", file=sys.stderr)
        return UNUSABLE
    buffer = io.BytesIO()
    np.save(buffer, roll)
    sys.stdout.buffer.write(buffer.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
