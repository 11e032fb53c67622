"""Reading a /continue file in a short-lived process of its own (`python -m ml.music.prime`):
its time is limited (killed past the limit), its memory too (the process's own limit), and
whatever it used is returned to the system when it exits. Pure-Python parsing in one of the
bot's threads would hold the GIL against generation and the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from ml.errors import DataError
from ml.music.prime import UNUSABLE, PrimePiece


async def read_prime_isolated(
    data: bytes, bars: float, frames_per_beat: int, transpose: bool, timeout: float
) -> PrimePiece:
    """The opening bars of a MIDI file; DataError with a reason a user can read otherwise."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ml.music.prime",
        str(bars),
        str(frames_per_beat),
        "1" if transpose else "0",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate(data)
    except TimeoutError:
        raise DataError(f"reading it took longer than {timeout:g} s") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode == UNUSABLE:
        raise DataError(err.decode(errors="replace").strip() or "it cannot be read")
    if process.returncode != 0:
        raise RuntimeError(f"the MIDI reader exited with status {process.returncode}: {err.decode()[-500:]}")
    return PrimePiece.from_bytes(out)
