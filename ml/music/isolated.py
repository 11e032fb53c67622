"""The shared main of the bot's short-lived file processes (`python -m ml.music.prime`,
`python -m ml.music.preview`): a user's file on stdin, the result on stdout, under a
memory limit and at a lower priority than the bot; a file that cannot be used exits with
UNUSABLE and the reason on stderr."""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable

from ml.errors import DataError

UNUSABLE = 3  # exit status: the file cannot be used (the reason is on stderr)
NICENESS = 10


def serve(work: Callable[[bytes], bytes], memory_limit_bytes: int, too_big: str) -> int:
    """Run `work` on stdin's bytes and write what it returns; the exit status."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    os.nice(NICENESS)  # generation for everyone goes first
    try:
        out = work(sys.stdin.buffer.read())
    except DataError as exc:
        print(exc, file=sys.stderr)
        return UNUSABLE
    except MemoryError:
        print(too_big, file=sys.stderr)
        return UNUSABLE
    sys.stdout.buffer.write(out)
    return 0
