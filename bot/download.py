"""Fetching a user's attachment from Discord's CDN, bounded in time and size whatever the
attachment declared: streamed, refused the moment it passes the limit."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.requests import DownloadFailed

CHUNK_BYTES = 64 * 1024


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
