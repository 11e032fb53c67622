"""A user's MIDI file rendered whole to an audio preview (Opus in Ogg), in a process of its
own, so that no file can hold the bot's interpreter, its memory or its time.

`python -m ml.music.preview MAX_SECONDS [SOUNDFONT]` reads the file's bytes from stdin under
a memory limit and writes the Ogg to stdout, cut at MAX_SECONDS (the last notes released
there); a file it cannot use exits with status 3 and the reason on stderr. The bot plays
these in voice channels; it runs at a lower priority than the bot's generation.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pretty_midi

from ml.errors import DataError
from ml.music.audio import encode, render_audio
from ml.music.isolated import serve
from ml.music.pianoroll import load_midi

MEMORY_LIMIT_BYTES = 2 << 30  # address space of the render process: synth, samples, codec


def preview_ogg(data: bytes, max_seconds: float, soundfont: Path | None = None) -> bytes:
    """The whole file as heard (every instrument with its program, drums as drums), at most
    `max_seconds` long; DataError with a reason a user can read when it has nothing to play."""
    try:
        midi = load_midi(data)
    except DataError:
        raise DataError("it is not a MIDI file that can be read") from None
    cut_at(midi, max_seconds)
    if not any(instrument.notes for instrument in midi.instruments):
        raise DataError("it has no notes to play")
    samples, _ = render_audio(midi, "auto", soundfont)
    return encode(samples, "ogg")


def cut_at(midi: pretty_midi.PrettyMIDI, seconds: float) -> None:
    """Notes that start from `seconds` on are dropped; the ones sounding then end there."""
    for instrument in midi.instruments:
        instrument.notes = [note for note in instrument.notes if note.start < seconds]
        for note in instrument.notes:
            note.end = min(note.end, seconds)
        instrument.pitch_bends = [bend for bend in instrument.pitch_bends if bend.time < seconds]
        instrument.control_changes = [c for c in instrument.control_changes if c.time < seconds]


def main(argv: list[str]) -> int:
    max_seconds = float(argv[0])
    soundfont = Path(argv[1]) if len(argv) > 1 else None
    return serve(
        lambda data: preview_ogg(data, max_seconds, soundfont),
        MEMORY_LIMIT_BYTES,
        "playing it needs more memory than a MIDI file may take",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
