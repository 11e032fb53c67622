"""Voice benchmark through the loopback fake Discord and its fake voice server, on the
shipped models (unless LYRICS_CHECKPOINT / MUSIC_*_CHECKPOINT say otherwise).

Prints the time from /play to the first voice packet (joining the channel first, and with
the bot already there), the pacing of the packets (the gap between consecutive arrivals,
whose ideal is 20 ms) while nothing else runs and while 16 /lyrics requests are generated,
and the CPU time the audio thread spends per minute of playback (reading, encrypting and
sending packets), beside the whole process's (which includes the fake server decrypting).

    python scripts/bench_voice.py
    python scripts/bench_voice.py --lyrics 16 --seconds 40 --trials 5
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from discord.player import AudioPlayer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the test suite's fake Discord

from bench_bot import percentile  # scripts/, beside this one

from bot.config import Settings
from tests.bot.fake_discord import GUILD_ID, FakeDiscord

PACKET_S = 0.02
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(native_id: int) -> float:
    """User + system CPU time of one thread of this process, from /proc."""
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def audio_thread() -> AudioPlayer:
    (player,) = [t for t in threading.enumerate() if isinstance(t, AudioPlayer) and t.is_alive()]
    return player


async def first_packet_after(fake: FakeDiscord, **play_options) -> float:
    """Seconds from sending /play to the first new packet of sound."""
    before = len(fake.voice.audio())
    sent = time.monotonic()
    await fake.slash("play", **play_options)
    while len(fake.voice.audio()) == before:
        await asyncio.sleep(0.001)
    return fake.voice.audio()[before].arrived - sent


def gaps_ms(packets: list) -> list[float]:
    return [(b.arrived - a.arrived) * 1000 for a, b in itertools.pairwise(packets)]


def describe(gaps: list[float]) -> str:
    return (
        f"median {statistics.median(gaps):.1f} ms, p99 {percentile(gaps, 0.99):.1f} ms, "
        f"max {max(gaps):.1f} ms, p99 |gap − 20 ms| "
        f"{percentile([abs(g - PACKET_S * 1000) for g in gaps], 0.99):.1f} ms"
    )


async def bench(lyrics: int, seconds: int, trials: int, database: Path) -> None:
    settings = Settings(
        _env_file=None,
        dev_guild_id=int(GUILD_ID),
        database_url=database,
        cooldown_seconds=0,
        queue_max=max(lyrics, 1) + 8,
        queue_max_per_user=8,
        voice_idle_seconds=600,
    )
    fake = FakeDiscord(voice=True)
    async with fake.serving(settings):
        await fake.join_voice("1")
        for seed in range(2):
            made = await fake.slash("midi", seconds=seconds, seed=seed)
            await fake.followups(made, timeout=600)
        cold = await first_packet_after(fake, id=1)
        warm = []
        for _ in range(trials):
            await fake.slash("skip")
            await fake.voice.quiet_for(0.3)
            warm.append(await first_packet_after(fake, id=1))
        print(
            f"/play → first voice packet: joining {cold * 1000:.0f} ms; already in the channel "
            f"median {statistics.median(warm) * 1000:.0f} ms over {trials}"
        )

        await fake.slash("skip")
        await fake.voice.quiet_for(0.3)
        start = len(fake.voice.audio())
        await fake.slash("play", id=2)
        while len(fake.voice.audio()) == start:
            await asyncio.sleep(0.001)
        player = audio_thread()
        cpu_thread, cpu_process, t0 = (
            thread_cpu_seconds(player.native_id),
            time.process_time(),
            time.monotonic(),
        )
        await asyncio.sleep(min(10.0, seconds / 3))
        played = time.monotonic() - t0
        thread_cpu = thread_cpu_seconds(player.native_id) - cpu_thread
        process_cpu = time.process_time() - cpu_process
        quiet = fake.voice.audio()[start:]
        print(f"pacing, nothing else running ({len(quiet)} packets): {describe(gaps_ms(quiet))}")
        print(
            f"CPU per minute of playback: audio thread {thread_cpu / played * 60:.2f} s; "
            f"whole process {process_cpu / played * 60:.2f} s (the fake server's decryption included)"
        )

        mark = len(fake.voice.audio())
        sent = [
            await fake.slash("lyrics", user_id=str(1000 + i), user_name=f"user{i}", length=500, seed=i)
            for i in range(lyrics)
        ]
        busy_from = time.monotonic()
        for interaction in sent:
            await fake.followups(interaction, timeout=600)
        busy_until = time.monotonic()
        busy = [p for p in fake.voice.audio()[mark:] if busy_from <= p.arrived <= busy_until]
        print(
            f"pacing while {lyrics} /lyrics were generated ({busy_until - busy_from:.1f} s, "
            f"{len(busy)} packets): {describe(gaps_ms(busy))}"
        )
        if busy_until - busy_from > seconds - min(10.0, seconds / 3):
            print("(the piece ended before the lyrics did: raise --seconds to cover the whole window)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lyrics", type=int, default=16, help="/lyrics requests generated during playback")
    parser.add_argument("--seconds", type=int, default=60, help="length of the pieces played")
    parser.add_argument(
        "--trials", type=int, default=5, help="/play repeats with the bot already in the channel"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench(args.lyrics, args.seconds, args.trials, Path(tmp) / "bench.db"))


if __name__ == "__main__":
    main()
