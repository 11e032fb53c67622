"""/continue under attack, through the loopback fake Discord, on the shipped models (unless
LYRICS_CHECKPOINT / PIANO_CHECKPOINT say otherwise).

For each adversarial MIDI file (built here, see tests/hostile_midi.py): CPU seconds of the
whole bot process from the slash command to the reply, peak memory above the idle process,
memory after the reply, and wall time (the bot warmed up by one request of each command, which
loads libraries such as matplotlib for good). CPU and memory (PSS) count the bot process and the
short-lived process that reads each file (its CPU from its exit accounting). Each file is sent
--rounds times, so the last round shows whether memory keeps growing. Then an attack:
--attackers users each send a note bomb at once while another user asks for /lyrics; its
latency is printed beside the same request's latency on an idle bot.

    python scripts/bench_continue.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the test suite's fake Discord

from bot.config import Settings
from tests import hostile_midi
from tests.bot.fake_discord import GUILD_ID, FakeDiscord, FakeFile


def _children() -> list[str]:
    """The live child processes (a MIDI reader while one runs)."""
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
        return f.read().split()


def memory_mb() -> float:
    """Memory of this process and its live children, as PSS: a child between fork and exec
    shares the parent's pages, which RSS would count twice."""
    kilobytes = 0
    for pid in ["self", *_children()]:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as f:
            kilobytes += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    return kilobytes / 1024


def cpu_seconds() -> float:
    """CPU of this process and of its children that have exited."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class PeakMemory:
    """The highest memory seen while it runs, sampled every 5 ms from a thread."""

    def __init__(self) -> None:
        self.peak = memory_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, memory_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


FILES = {
    "long-held note, 1 tick/beat": hostile_midi.long_held_note,
    "note bomb, 160k notes": hostile_midi.note_bomb,
    "1,000 tracks": hostile_midi.many_tracks,
    "past the 10M-tick limit": hostile_midi.past_tick_limit,
}


async def answer(fake: FakeDiscord, interaction) -> str:
    (reply,) = await fake.followups(interaction, timeout=300)
    return reply.json["content"]


async def bench(attackers: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,
            database_url=Path(folder) / "bench.db",
            dev_guild_id=int(GUILD_ID),
            cooldown_seconds=0,
            queue_max_per_user=100,
        )
        fake = FakeDiscord()
        async with fake.serving(settings):
            for warm_up in ("lyrics", "midi"):  # first uses load libraries (matplotlib) for good
                await answer(fake, await fake.slash(warm_up, seed=0))
            await answer(
                fake, await fake.slash("continue", file=FakeFile("w.mid", hostile_midi.note_bomb(100)))
            )
            gc.collect()
            idle = memory_mb()
            limit = settings.music.continue_max_bytes
            print(f"idle bot process: {idle:.0f} MB (PSS); CONTINUE_MAX_BYTES {limit:,}")
            columns = f"{'bytes':>10}{'CPU s':>8}{'wall s':>8}{'peak MB':>9}{'after MB':>10}"
            print(f"{'#':<3}{'file':<30}{columns}  reply")
            for round_, (name, build) in itertools.product(range(1, rounds + 1), FILES.items()):
                data = build()
                gc.collect()
                before_cpu, started = cpu_seconds(), time.perf_counter()
                with PeakMemory() as peak:
                    interaction = await fake.slash("continue", file=FakeFile("x.mid", data), seed=1)
                    text = await answer(fake, interaction)
                cpu, wall = cpu_seconds() - before_cpu, time.perf_counter() - started
                gc.collect()
                print(
                    f"{round_:<3}{name:<30}{len(data):>10,}{cpu:>8.2f}{wall:>8.2f}{peak.peak - idle:>+9.0f}"
                    f"{memory_mb() - idle:>+10.0f}  {text[:50]}"
                )

            started = time.perf_counter()
            text = await answer(fake, await fake.slash("lyrics", user_id="999", length=500, seed=3))
            alone = time.perf_counter() - started
            bomb = FakeFile("bomb.mid", hostile_midi.note_bomb())
            attack = [await fake.slash("continue", file=bomb, user_id=str(100 + i)) for i in range(attackers)]
            started = time.perf_counter()
            await answer(fake, await fake.slash("lyrics", user_id="999", length=500, seed=3))
            during = time.perf_counter() - started
            for interaction in attack:
                await answer(fake, interaction)
            print(
                f"another user's /lyrics (length 500; {len(text):,} characters sent): {alone:.2f} s "
                f"on an idle bot, {during:.2f} s while {attackers} users /continue a 1 MB note bomb each"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--attackers", type=int, default=6, help="users sending a note bomb at once (default 6)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="times each file is sent (default 2)")
    args = parser.parse_args()
    asyncio.run(bench(args.attackers, args.rounds))


if __name__ == "__main__":
    main()
