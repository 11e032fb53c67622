"""Fetching a user's attachment from Discord's CDN, bounded in time and size whatever the
attachment declared: streamed, refused the moment it passes the limit; and which of a
message's attachments is its MIDI file."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp

from bot.config import Settings
from bot.requests import DownloadFailed
from bot.rules import display_name

if TYPE_CHECKING:  # the service uses this module too, and imports no Discord code
    import discord

CHUNK_BYTES = 64 * 1024
MIDI_SUFFIXES = (".mid", ".midi", ".kar")


def first_midi(attachments: list[discord.Attachment]) -> discord.Attachment | None:
    """A message's first MIDI file (what Continue this MIDI and Play in voice take)."""
    return next((a for a in attachments if a.filename.lower().endswith(MIDI_SUFFIXES)), None)


async def download_midi(
    session: aiohttp.ClientSession, settings: Settings, file: discord.Attachment
) -> bytes:
    """A user's MIDI file, within /continue's size and time limits."""
    music = settings.music
    shown = display_name(settings, file.filename)
    return await download(
        session, file.url, shown, music.continue_max_bytes, music.continue_download_timeout_seconds
    )


async def download(session: aiohttp.ClientSession, url: str, shown: str, limit: int, timeout: float) -> bytes:
    """The file's bytes; DownloadFailed says, for the user, why there are none."""
    try:
        async with asyncio.timeout(timeout), session.get(url) as response:
            if response.status != 200:
                gone = " (it is no longer there; attach it again)" if response.status in (403, 404) else ""
                raise DownloadFailed(
                    f"Could not download {shown}: Discord answered HTTP {response.status}{gone}."
                )
            if response.content_length is not None and response.content_length > limit:
                raise DownloadFailed(f"{shown} is {response.content_length:,} bytes; the limit is {limit:,}.")
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                data += chunk
                if len(data) > limit:
                    raise DownloadFailed(f"{shown} is larger than the {limit:,}-byte limit.")
            return bytes(data)
    except TimeoutError:
        raise DownloadFailed(
            f"Downloading {shown} took longer than {timeout:g} s; please try again."
        ) from None
    except aiohttp.ClientError as exc:
        raise DownloadFailed(
            f"Could not download {shown} ({type(exc).__name__}); please try again."
        ) from None
