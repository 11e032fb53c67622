"""Valid but adversarial Standard MIDI Files, written byte by byte: what a hostile user can
upload to /continue. Used by the tests and by scripts/bench_continue.py."""

from __future__ import annotations

import struct

from ml.music.smf import quantity


def smf(tracks: list[bytes], ticks_per_beat: int = 480) -> bytes:
    """A format-1 file of the given raw track bodies (each gets its end-of-track event)."""
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), ticks_per_beat)
    chunks = [b"MTrk" + struct.pack(">I", len(t) + 4) + t + b"\x00\xff\x2f\x00" for t in tracks]
    return header + b"".join(chunks)


def long_held_note(ticks: int = 9_999_999) -> bytes:
    """44 bytes: one note at 1 tick per beat, held for `ticks` (a span of millions of frames)."""
    return smf([b"\x00\x90\x3c\x40" + quantity(ticks) + b"\x80\x3c\x00"], ticks_per_beat=1)


def note_bomb(notes: int = 160_000) -> bytes:
    """Many short notes in running status, three bytes each: about 1 MB for 166k notes."""
    body = bytearray(b"\x00\x90\x24\x50")  # a note-on with its status; the rest run on it
    for i in range(1, 2 * notes):
        pitch = 36 + (i // 2) % 48
        body += bytes((1, pitch, 0)) if i % 2 else bytes((0, pitch, 0x50))  # off after a tick, next on
    return smf([bytes(body)])


def many_tracks(tracks: int = 1_000, notes_per_track: int = 40) -> bytes:
    """A thousand tracks of a few notes each."""
    body = b"".join(
        b"\x00\x90" + bytes((40 + n % 40, 0x50)) + b"\x78\x80" + bytes((40 + n % 40, 0))
        for n in range(notes_per_track)
    )
    return smf([body] * tracks)


def past_tick_limit() -> bytes:
    """Notes beyond pretty_midi's ten-million-tick grid, at a fine resolution."""
    body = b"\x00\x90\x3c\x40" + quantity(120) + b"\x80\x3c\x00"
    body += quantity(12_000_000) + b"\x90\x40\x40" + quantity(120) + b"\x80\x40\x00"
    return smf([body], ticks_per_beat=960)


def truncated(data: bytes, keep: int) -> bytes:
    """The first `keep` bytes of a file: a download cut short."""
    return data[:keep]
