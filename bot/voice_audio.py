"""Audio for voice channels straight from a rendered Ogg Opus preview: its packets are
already Opus, so discord.py sends them as they are (an AudioSource whose `is_opus()` is
true), one every 20 ms, with no ffmpeg and no libopus involved."""

from __future__ import annotations

import io

import discord
from discord.oggparse import OggError, OggStream

OPUS_HEADERS = (b"OpusHead", b"OpusTags")  # the stream's identification and comment packets
PACKET_SECONDS = 0.02  # discord.py sends one packet per 20 ms; the previews are encoded so


def opus_packets(ogg: bytes) -> list[bytes]:
    """The audio packets of an Ogg Opus stream in order, its header packets left out;
    ValueError when it is not Ogg Opus."""
    try:
        packets = list(OggStream(io.BytesIO(ogg)).iter_packets())
    except OggError as exc:
        raise ValueError(f"not an Ogg stream: {exc}") from None
    if not packets or not packets[0].startswith(OPUS_HEADERS[0]):
        raise ValueError("not an Ogg Opus stream")
    return [packet for packet in packets if not packet.startswith(OPUS_HEADERS)]


class OpusPackets(discord.AudioSource):
    """Packets played in order; `played` counts those already read (the position)."""

    def __init__(self, packets: list[bytes]) -> None:
        self.packets = packets
        self.played = 0

    def read(self) -> bytes:
        if self.played >= len(self.packets):
            return b""
        self.played += 1
        return self.packets[self.played - 1]

    def is_opus(self) -> bool:
        return True

    @property
    def elapsed_seconds(self) -> float:
        return self.played * PACKET_SECONDS
