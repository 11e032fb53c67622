"""Writing Standard MIDI Files byte by byte: what pretty_midi cannot (a tempo map, the
file's own resolution and channels), for the continuation files /continue hands back."""

from __future__ import annotations

import struct

Event = tuple[int, int, bytes]  # (absolute tick, order among events at that tick, bytes)


def quantity(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def smf(tracks: list[list[Event]], resolution: int) -> bytes:
    """A format-1 file: each track's events in (tick, order) order, delta-timed, each track
    closed by its end-of-track event."""
    chunks = [b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), resolution)]
    for events in tracks:
        body, previous = bytearray(), 0
        for tick, _, data in sorted(events, key=lambda e: (e[0], e[1])):
            body += quantity(tick - previous) + data
            previous = tick
        body += b"\x00\xff\x2f\x00"
        chunks.append(b"MTrk" + struct.pack(">I", len(body)) + bytes(body))
    return b"".join(chunks)
