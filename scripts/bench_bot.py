"""Bot benchmark through the loopback fake Discord, on the shipped models (unless
LYRICS_CHECKPOINT / PIANO_CHECKPOINT say otherwise).

Throughput: N concurrent /lyrics, batching on (up to --batch-max per forward pass) and off.

    python scripts/bench_bot.py                          # N = 1, 10, 50

Burst: --burst N /lyrics from --users users within milliseconds, under the default caps
(QUEUE_MAX, QUEUE_MAX_PER_USER, COOLDOWN_SECONDS). Prints acknowledgement and answer
latency, accepted / refused / silent counts, rows stored vs accepted, the highest queue
occupancy seen (overall and for one user) against the caps, and the largest gap between
gateway heartbeats (a blocked event loop shows up there).

    python scripts/bench_bot.py --burst 100 --users 20
    python scripts/bench_bot.py --burst 110 --users 20 --cooldown 0   # the caps, not the cooldown

Several processes: --processes 2 runs two bot processes (shards 0 and 1 of 2) on one
PostgreSQL server (started here from the pgserver wheel), or each on its own SQLite file;
every user's burst is spread over both shards. Prints acks and answers, rows against
accepted, and the most requests one user had open at once across both processes (read
from the databases every few milliseconds) against QUEUE_MAX_PER_USER.

    python scripts/bench_bot.py --processes 2 --database postgresql --burst 120 --users 20 --cooldown 0
    python scripts/bench_bot.py --processes 2 --database sqlite --burst 120 --users 20 --cooldown 0

Outage: --outage S stops the PostgreSQL server for S seconds while the burst arrives (half
before, half spread over the outage), then starts it again. Discord's 3 s deadline is
enforced by the fake. Prints acks (p99), how many were refused with the database message,
rows by status once every lease has been renewed (none may be interrupted), and the cap.

    python scripts/bench_bot.py --processes 2 --database postgresql --outage 10 \
        --burst 80 --users 20 --cooldown 0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the test suite's fake Discord

from bot.client import BalladeerBot
from bot.config import Settings
from tests.bot.fake_discord import GUILD_ID, HEARTBEAT_INTERVAL_MS, SECOND_GUILD_ID, FakeDiscord

SHARD_GUILDS = (GUILD_ID, SECOND_GUILD_ID)  # one on each shard of two


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(q * (len(ordered) - 1)), len(ordered) - 1)]


async def drive(n: int, batch_max: int, length: int, database: Path) -> dict[str, float]:
    settings = Settings(
        _env_file=None,
        dev_guild_id=int(GUILD_ID),
        database_url=database,
        cooldown_seconds=0,
        queue_max=max(n, 1),
        batch_max=batch_max,
    )
    fake = FakeDiscord()
    async with fake.serving(settings):
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
    ack_times = [a.at - i.sent_at for a, i in zip(acks, sent, strict=True)]
    final_times = [f.at - i.sent_at for f, i in zip(finals, sent, strict=True)]
    return {
        "ack_p50": percentile(ack_times, 0.5),
        "ack_p99": percentile(ack_times, 0.99),
        "final_p50": percentile(final_times, 0.5),
        "final_p99": percentile(final_times, 0.99),
        "rps": n / elapsed,
    }


async def answers_to(fake: FakeDiscord, sent: list) -> tuple[list, int, list, list]:
    """(interaction, ack) pairs, how many got no ack within Discord's 3 s, the accepted
    ones, and (interaction, final followup) for each accepted."""
    acks, silent = [], 0
    for interaction in sent:
        try:
            acks.append((interaction, await fake.callback(interaction, timeout=3)))
        except TimeoutError:
            silent += 1
    accepted = [(i, a) for i, a in acks if a.json["type"] == 5]
    answers = [(i, (await fake.followups(i, timeout=600))[-1]) for i, _ in accepted]
    return acks, silent, accepted, answers


async def watch_occupancy(bot: BalladeerBot, peaks: list[int]) -> None:
    """Sample the queue every millisecond or so; keep the highest (overall, one user)."""
    while True:
        taken, by_one = bot.service.occupancy()
        peaks[0], peaks[1] = max(peaks[0], taken), max(peaks[1], by_one)
        await asyncio.sleep(0.001)


async def burst(n: int, users: int, length: int, cooldown: float | None, database: Path) -> None:
    settings = Settings(_env_file=None, dev_guild_id=int(GUILD_ID), database_url=database)
    if cooldown is not None:
        settings.queue.cooldown_seconds = cooldown
    fake = FakeDiscord()
    async with fake.serving(settings) as bot:
        peaks = [0, 0]
        watcher = asyncio.create_task(watch_occupancy(bot, peaks))
        started = time.monotonic()
        sent = await asyncio.gather(
            *(
                fake.slash(
                    "lyrics", user_id=str(1000 + i % users), user_name=f"user{i % users}", length=length
                )
                for i in range(n)
            )
        )
        spread = max(i.sent_at for i in sent) - min(i.sent_at for i in sent)
        acks, silent, accepted, answers = await answers_to(fake, sent)
        elapsed = time.monotonic() - started
        watcher.cancel()
        beats = [t for t in fake.heartbeats if started <= t]
        gap = max((b - a for a, b in itertools.pairwise(beats)), default=float("nan"))
        await asyncio.sleep(0.5)  # let the last rows be closed
        with sqlite3.connect(database) as db:
            rows = dict(db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status").fetchall())
    ack_times = [a.at - i.sent_at for i, a in acks]
    answer_times = [a.at - i.sent_at for i, a in answers]
    print(f"burst of {n} /lyrics (length {length}) from {users} users, sent within {spread * 1000:.0f} ms")
    ack_ms = [percentile(ack_times, q) * 1000 for q in (0.5, 0.99)]
    print(f"  acks      p50 {ack_ms[0]:6.0f} ms   p99 {ack_ms[1]:6.0f} ms")
    if answer_times:
        answer_s = [percentile(answer_times, q) for q in (0.5, 0.99)]
        print(f"  answers   p50 {answer_s[0]:6.2f} s    p99 {answer_s[1]:6.2f} s")
    print(f"  accepted {len(accepted)}, refused {len(acks) - len(accepted)}, silent {silent}")
    print(f"  rows stored {sum(rows.values())} vs accepted {len(accepted)}: {rows}")
    print(
        f"  queue peak {peaks[0]} (QUEUE_MAX {settings.queue.max}); one user's peak {peaks[1]} "
        f"(QUEUE_MAX_PER_USER {settings.queue.max_per_user}); cooldown {settings.queue.cooldown_seconds:g} s"
    )
    print(
        f"  largest heartbeat gap {gap * 1000:.0f} ms (interval {HEARTBEAT_INTERVAL_MS} ms); "
        f"all answered in {elapsed:.1f} s"
    )


async def serve_shard(shard: int, port: int, database: str, cooldown: float) -> None:
    """A child process: the real bot on shard `shard` of 2, aimed at the parent's fake."""
    import discord
    import yarl

    from bot.client import create_bot

    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/")
    settings = Settings(
        _env_file=None,
        dev_guild_id=int(GUILD_ID),
        database_url=database,
        shard_count=2,
        shard_ids=[shard],
        cooldown_seconds=cooldown,
    )

    bot = create_bot(settings, guild_ready_timeout=0.05)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(bot.close()))
    async with bot:
        await bot.start("test-token")


class OpenPerUser:
    """The most requests one user had open at once, summed over every database."""

    def __init__(self, databases: list[str]) -> None:
        self.databases = databases
        self.peak = 0

    async def watch(self) -> None:
        if self.databases[0].startswith("postgresql"):
            import asyncpg

            connection = await asyncpg.connect(self.databases[0])
            count = lambda: connection.fetch("SELECT user_id, COUNT(*) FROM holds GROUP BY user_id")  # noqa: E731
        else:
            files = [sqlite3.connect(f) for f in self.databases]

            async def count():
                return [
                    r
                    for db in files
                    for r in db.execute("SELECT user_id, COUNT(*) FROM holds GROUP BY user_id")
                ]

        while True:
            try:
                per_user = Counter()
                for user_id, n in await count():
                    per_user[user_id] += n
                self.peak = max(self.peak, max(per_user.values(), default=0))
            except Exception:  # a table not made yet, or the server is down: look again
                if self.databases[0].startswith("postgresql"):
                    with contextlib.suppress(Exception):
                        connection = await asyncpg.connect(self.databases[0], timeout=1)
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.005)


async def rows_by_status(databases: list[str]) -> Counter:
    rows = Counter()
    if databases[0].startswith("postgresql"):
        import asyncpg

        connection = await asyncpg.connect(databases[0])
        for status, n in await connection.fetch("SELECT status, COUNT(*) FROM requests GROUP BY status"):
            rows[status] += n
        await connection.close()
    else:
        for file in databases:
            with sqlite3.connect(file) as db:
                rows.update(dict(db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status")))
    return rows


def stop_server(server) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


async def multi_process_burst(
    n: int, users: int, length: int, cooldown: float, backend: str, folder: Path, outage: float | None
) -> None:
    if backend == "postgresql":
        import pgserver

        server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
        server.psql("CREATE DATABASE bench;")
        databases = [f"postgresql://postgres@/bench?host={folder / 'pg'}"] * 2
    else:
        server, databases = None, [str(folder / f"shard{i}.db") for i in range(2)]
    fake = FakeDiscord(ack_deadline=3.0 if outage else None)
    await fake.start()
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve-shard",
                str(shard),
                "--port",
                str(fake.port),
                "--child-database",
                databases[shard],
                "--cooldown",
                str(cooldown),
            ],
            env=os.environ | {"OMP_NUM_THREADS": "1"},
        )
        for shard in range(2)
    ]
    try:
        while len(fake.identifies) < 2:
            if any(c.poll() is not None for c in children):
                raise SystemExit("a bot process ended before it connected")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # READY and the guilds reach both
        watcher = OpenPerUser(databases)
        watching = asyncio.create_task(watcher.watch())
        started = time.monotonic()

        def request(i: int):
            return fake.slash(
                "lyrics",
                user_id=str(1000 + i % users),
                user_name=f"user{i % users}",
                guild_id=SHARD_GUILDS[(i // users) % 2],  # each user's requests alternate shards
                length=length,
            )

        if outage:
            sent = list(await asyncio.gather(*(request(i) for i in range(n // 2))))
            stop_server(server)
            down_at, waves = time.monotonic(), 5
            for wave in range(waves):  # the rest spread over the outage
                sent += await asyncio.gather(*(request(i) for i in range(n // 2 + wave, n, waves)))
                await asyncio.sleep(outage / waves)
            await asyncio.sleep(max(0.0, outage - (time.monotonic() - down_at)))
            server.ensure_postgres_running()
        else:
            sent = await asyncio.gather(*(request(i) for i in range(n)))
        spread = max(i.sent_at for i in sent) - min(i.sent_at for i in sent)
        acks, silent, accepted, answers = await answers_to(fake, sent)
        elapsed = time.monotonic() - started
        await asyncio.sleep(2 * Settings(_env_file=None).storage.lease_seconds if outage else 1.0)
        watching.cancel()
        rows = await rows_by_status(databases)
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=60)
        await fake.stop()
        if server is not None:
            server.cleanup()
    user_of = {i.id: n % users for n, i in enumerate(sent)}
    per_user = Counter(user_of[i.id] for i, _ in accepted)
    ack_ms = [percentile([a.at - i.sent_at for i, a in acks], q) * 1000 for q in (0.5, 0.99)]
    answer_s = [percentile([a.at - i.sent_at for i, a in answers], q) for q in (0.5, 0.99)]
    where = "one PostgreSQL database" if backend == "postgresql" else "a SQLite file each"
    print(
        f"2 bot processes (shards 0 and 1 of 2) on {where}; {n} /lyrics (length {length}) from {users} users"
    )
    print(f"  over both shards, sent within {spread * 1000:.0f} ms, cooldown {cooldown:g} s")
    if outage:
        late = sum(code == 10062 for _, _, code in fake.errors_sent)
        unreachable = sum(
            "can't reach my database" in (a.json.get("data") or {}).get("content", "") for _, a in acks
        )
        wrong = sum(not a.json["content"].startswith("🎤") for _, a in answers)
        print(f"  the database down for {outage:g} s while the second half arrived")
        print(f"  acknowledged after Discord's 3 s: {late}; refused with the database message: {unreachable}")
        print(f"  accepted but answered with an error: {wrong}; rows interrupted: {rows['interrupted']}")
    print(f"  acks      p50 {ack_ms[0]:6.0f} ms   p99 {ack_ms[1]:6.0f} ms")
    print(f"  answers   p50 {answer_s[0]:6.2f} s    p99 {answer_s[1]:6.2f} s   (all in {elapsed:.1f} s)")
    print(f"  accepted {len(accepted)}, refused {len(acks) - len(accepted)}, silent {silent}")
    print(f"  rows stored {sum(rows.values())} vs accepted {len(accepted)}: {dict(rows)}")
    print(
        f"  one user's most open requests at once, both processes together: {watcher.peak} "
        f"(QUEUE_MAX_PER_USER {Settings(_env_file=None).queue.max_per_user}); "
        f"accepted per user {min(per_user.values(), default=0)}..{max(per_user.values(), default=0)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--length", type=int, default=500, help="characters per /lyrics request")
    parser.add_argument("--batch-max", type=int, default=50, help="batch size when batching is on")
    parser.add_argument("--burst", type=int, help="send this many /lyrics at once under the default caps")
    parser.add_argument("--users", type=int, default=20, help="how many users the burst comes from")
    parser.add_argument("--cooldown", type=float, help="COOLDOWN_SECONDS for the burst (0 stresses the caps)")
    parser.add_argument("--processes", type=int, choices=(1, 2), default=1, help="bot processes (shards)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--outage", type=float, help="seconds the PostgreSQL server is down mid-burst")
    parser.add_argument("--serve-shard", type=int, help=argparse.SUPPRESS)  # a child process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_shard is not None:
        await serve_shard(args.serve_shard, args.port, args.child_database, args.cooldown)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.processes == 2:
            if args.outage and args.database != "postgresql":
                parser.error("--outage stops a PostgreSQL server: use it with --database postgresql")
            await multi_process_burst(
                args.burst or 120,
                args.users,
                args.length,
                args.cooldown or 0.0,
                args.database,
                Path(tmp),
                args.outage,
            )
            return
        if args.burst:
            await burst(args.burst, args.users, args.length, args.cooldown, Path(tmp) / "burst.db")
            return
        print(f"/lyrics length {args.length}, shipped models, fake Discord on loopback")
        header = ("N", "batching", "ack p50", "ack p99", "answer p50", "answer p99", "req/s")
        print("{:>4} {:>9} {:>9} {:>9} {:>11} {:>11} {:>7}".format(*header))
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
