"""Users' MIDI files read and rendered in short-lived processes of their own
(`python -m ml.music.prime`, `python -m ml.music.preview`): their time is limited (killed
past the limit), their memory too (the process's own limit), and whatever they used is
returned to the system when they exit. Pure-Python parsing in one of the bot's threads
would hold the GIL against generation and the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from ml.errors import DataError
from ml.music.isolated import UNUSABLE
from ml.music.prime import PrimePiece


async def read_prime_isolated(
    data: bytes, bars: float, frames_per_beat: int, transpose: bool, timeout: float
) -> PrimePiece:
    """The opening bars of a MIDI file; DataError with a reason a user can read otherwise."""
    args = [str(bars), str(frames_per_beat), "1" if transpose else "0"]
    return PrimePiece.from_bytes(await _isolated("ml.music.prime", args, data, timeout, "reading it"))


async def render_preview_isolated(
    data: bytes, max_seconds: float, soundfont: Path | None, timeout: float
) -> bytes:
    """A whole MIDI file as Ogg Opus, cut at `max_seconds`; DataError with a reason a user
    can read otherwise."""
    args = [str(max_seconds), *([str(soundfont)] if soundfont else [])]
    return await _isolated("ml.music.preview", args, data, timeout, "rendering it")


async def _isolated(module: str, args: list[str], data: bytes, timeout: float, doing: str) -> bytes:
    """`python -m MODULE ARGS` with `data` on stdin: its stdout, or DataError (exit status
    UNUSABLE, or past `timeout`)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate(data)
    except TimeoutError:
        raise DataError(f"{doing} took longer than {timeout:g} s") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode == UNUSABLE:
        raise DataError(err.decode(errors="replace").strip() or "it cannot be read")
    if process.returncode != 0:
        raise RuntimeError(f"{module} exited with status {process.returncode}: {err.decode()[-500:]}")
    return out
