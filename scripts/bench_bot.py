"""Bot benchmark: N concurrent /lyrics interactions through the loopback fake Discord.

Reports p50/p99 time to acknowledgement and to the final answer, and requests per
second, with batching on (up to BATCH_MAX requests per forward pass) and off (one at a
time). Uses the shipped models unless LYRICS_CHECKPOINT / PIANO_CHECKPOINT say otherwise.

    python scripts/bench_bot.py            # N = 1, 10, 50
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the test suite's fake Discord

from bot import create_bot
from bot.config import Settings
from tests.bot.fake_discord import GUILD_ID, FakeDiscord


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(q * (len(ordered) - 1)), len(ordered) - 1)]


async def drive(n: int, batch_max: int, length: int, database: Path) -> dict[str, float]:
    fake = FakeDiscord()
    await fake.start()
    saved = fake.point_discord_py_here()
    settings = Settings(
        _env_file=None,
        dev_guild_id=int(GUILD_ID),
        database_path=database,
        cooldown_seconds=0,
        queue_max=max(n, 1),
        batch_max=batch_max,
    )
    bot = create_bot(settings, guild_ready_timeout=0.05)
    runner = asyncio.create_task(bot.start("bench-token"))
    try:
        await fake.wait_ready()
        await bot.wait_until_ready()
        started = time.monotonic()
        sent = await asyncio.gather(
            *(
                fake.slash("lyrics", user_id=str(1000 + i), user_name=f"user{i}", length=length, seed=i)
                for i in range(n)
            )
        )
        acks = [await fake.callback(i, timeout=600) for i in sent]
        finals = [(await fake.followups(i, timeout=600))[-1] for i in sent]
        elapsed = time.monotonic() - started
    finally:
        await bot.close()
        await runner
        for owner, name, value in saved:
            setattr(owner, name, value)
        await fake.stop()
    ack_times = [a.at - i.sent_at for a, i in zip(acks, sent, strict=True)]
    final_times = [f.at - i.sent_at for f, i in zip(finals, sent, strict=True)]
    return {
        "ack_p50": percentile(ack_times, 0.5),
        "ack_p99": percentile(ack_times, 0.99),
        "final_p50": percentile(final_times, 0.5),
        "final_p99": percentile(final_times, 0.99),
        "rps": n / elapsed,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--length", type=int, default=500, help="characters per /lyrics request")
    parser.add_argument("--batch-max", type=int, default=50, help="batch size when batching is on")
    args = parser.parse_args()
    print(f"/lyrics length {args.length}, shipped models, fake Discord on loopback")
    header = ("N", "batching", "ack p50", "ack p99", "answer p50", "answer p99", "req/s")
    print("{:>4} {:>9} {:>9} {:>9} {:>11} {:>11} {:>7}".format(*header))
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.sizes.split(",")):
            for label, batch_max in (("on", args.batch_max), ("off", 1)):
                r = await drive(n, batch_max, args.length, Path(tmp) / f"bench-{n}-{label}.db")
                print(
                    f"{n:>4} {label:>9} {r['ack_p50'] * 1000:>7.0f}ms {r['ack_p99'] * 1000:>7.0f}ms "
                    f"{r['final_p50']:>10.2f}s {r['final_p99']:>10.2f}s {r['rps']:>7.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
