"""The storage contract, which SQLite and PostgreSQL both keep unchanged (`database_url`
runs each test on both), then what only a shared PostgreSQL database can show."""

import asyncio
import sqlite3

import pytest

from bot.storage import HoldRefused, Instance, ShardClaim, StorageError, migrations, open_storage

BOT = ShardClaim()  # an unsharded bot: every shard


def instance(shards=BOT, lease=30.0):
    return Instance.new(shards, lease)


async def _insert(storage, user_id=1, guild_id=5, channel_id=7, command="lyrics", hold_id=None):
    return await storage.insert_request(
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        user_name=f"user{user_id}",
        command=command,
        options={"seed": 1},
        model_version="lyrics.pt@abc",
        hold_id=hold_id,
    )


async def _crash(storage):
    """Stop using a storage the way a killed process does: no deregistering."""
    await storage.connector.close()


def _dialect(url):
    return "postgresql" if url.startswith("postgresql") else "sqlite"


# -- the contract ----------------------------------------------------------------------
async def test_migrations_apply_once_and_reopening_keeps_rows(database_url):
    storage = await open_storage(database_url, instance())
    latest = migrations(_dialect(database_url))[-1][0]
    assert await storage.schema_version() == latest
    request_id = await _insert(storage)
    database_id = await storage.database_id()
    await storage.close()
    again = await open_storage(database_url, instance())  # migrations are not re-applied
    assert await again.schema_version() == latest
    assert await again.database_id() == database_id
    record = await again.get(request_id)
    assert record.options == {"seed": 1} and record.created_at.endswith("+00:00")
    await again.close()


async def test_history_is_per_server_or_dm_newest_first_and_filterable(database_url):
    storage = await open_storage(database_url, instance())
    a = await _insert(storage, user_id=1)
    b = await _insert(storage, user_id=2)
    c = await _insert(storage, user_id=1, channel_id=8)
    await _insert(storage, user_id=1, guild_id=6)
    dm = await _insert(storage, user_id=1, guild_id=None, channel_id=99)
    assert [r.id for r in await storage.history(guild_id=5, channel_id=7)] == [c, b, a]
    assert [r.id for r in await storage.history(guild_id=5, channel_id=7, user_id=1)] == [c, a]
    assert [r.id for r in await storage.history(guild_id=5, channel_id=7, limit=1)] == [c]
    assert [r.id for r in await storage.history(guild_id=None, channel_id=99)] == [dm]
    await storage.close()


async def test_finished_rows_are_never_rewritten(database_url):
    storage = await open_storage(database_url, instance())
    done = await _insert(storage)
    await storage.mark_running([done])
    await storage.finish(done, "done", result="la la", duration_ms=12)
    await storage.finish(done, "failed", error="late")
    record = await storage.get(done)
    assert (record.status, record.result, record.error, record.duration_ms) == ("done", "la la", None, 12)
    assert record.finished_at and record.instance_id == storage.instance.id
    await storage.close()


async def test_a_restart_closes_what_the_crashed_process_left_open(database_url):
    first = await open_storage(database_url, instance())
    finished = await _insert(first)
    await first.finish(finished, "done")
    running = await _insert(first)
    await first.mark_running([running])
    queued = await _insert(first)
    await _crash(first)
    second = await open_storage(database_url, instance())  # the same shards: the first is dead
    assert (await second.renew_lease()).interrupted == 2
    assert (await second.get(running)).status == "interrupted"
    assert (await second.get(queued)).error == "the bot stopped before it finished"
    assert (await second.get(finished)).status == "done"
    assert (await second.renew_lease()).interrupted == 0
    await second.close()


async def test_holds_count_a_users_open_requests_and_start_the_cooldown(database_url):
    storage = await open_storage(database_url, instance())
    holds = [await storage.take_hold(1, max_open=2, cooldown_seconds=0) for _ in range(2)]
    assert all(isinstance(h, int) for h in holds)
    refused = await storage.take_hold(1, max_open=2, cooldown_seconds=0)
    assert refused == HoldRefused("user_cap", 2, 0.0)
    assert isinstance(await storage.take_hold(2, max_open=2, cooldown_seconds=0), int)  # per user
    request_id = await _insert(storage, hold_id=holds[0])
    await storage.finish(request_id, "done")  # a finished request gives its place back
    assert isinstance(await storage.take_hold(1, max_open=2, cooldown_seconds=0), int)

    cooling = await storage.take_hold(3, max_open=5, cooldown_seconds=60)
    again = await storage.take_hold(3, max_open=5, cooldown_seconds=60)
    assert again.reason == "cooldown" and 59 < again.cooldown_left <= 60
    await storage.release_hold(cooling, restore_cooldown=True)  # never entered: no cooldown either
    assert isinstance(await storage.take_hold(3, max_open=5, cooldown_seconds=60), int)
    await storage.close()


async def test_a_burst_of_holds_never_overruns_the_cap(database_url):
    storage = await open_storage(database_url, instance())
    results = await asyncio.gather(*(storage.take_hold(9, max_open=3, cooldown_seconds=0) for _ in range(12)))
    assert sum(isinstance(r, int) for r in results) == 3
    await storage.close()


async def test_copying_is_idempotent_and_merges_several_sources(database_url, tmp_path):
    from bot.db import copy_history

    sources = [str(tmp_path / "shard-a.db"), str(tmp_path / "shard-b.db")]
    for n, source in enumerate(sources):
        storage = await open_storage(source, instance())
        for _ in range(3 + n):
            await storage.finish(await _insert(storage, user_id=n), "done", result="♪")
        await storage.close()
    first = [await copy_history(s, database_url) for s in sources]
    assert [(c.copied, c.already_there) for c in first] == [(3, 0), (4, 0)]
    again = await copy_history(sources[0], database_url)  # a rerun (or a resumed one) adds nothing
    assert (again.copied, again.already_there) == (0, 3)
    target = await open_storage(database_url, None)
    assert (await target.counts())["done"] == 7
    rows = await target.history(guild_id=5, channel_id=7, limit=20)
    assert [r.user_id for r in rows].count(1) == 4 and {r.result for r in rows} == {"♪"}
    await target.close()


async def test_maintenance_opens_take_no_lease_and_no_shards(database_url):
    bot = await open_storage(database_url, None if _dialect(database_url) == "sqlite" else instance())
    await _insert(bot)
    if _dialect(database_url) == "sqlite":
        await bot.close()  # a SQLite file is one process's at a time
    tool = await open_storage(database_url, None, migrate=False)
    assert (await tool.counts())["queued"] == 1
    with pytest.raises(StorageError, match="maintenance"):
        await tool.take_hold(1, max_open=1, cooldown_seconds=0)
    await tool.close()
    if _dialect(database_url) == "postgresql":
        await bot.close()


# -- SQLite: one process per file --------------------------------------------------------
async def test_one_process_at_a_time_holds_a_sqlite_file(tmp_path):
    first = await open_storage(tmp_path / "h.db", instance())
    try:
        with pytest.raises(StorageError, match="another Balladeer process is using DATABASE_URL="):
            await open_storage(tmp_path / "h.db", instance())
    finally:
        await first.close()
    second = await open_storage(f"sqlite:///{tmp_path}/h.db", instance())  # free once the first closed
    await second.close()


async def test_a_sqlite_file_from_version_1_keeps_every_row(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        version, sql = migrations("sqlite")[0]
        db.executescript(f"CREATE TABLE schema_version (version INTEGER NOT NULL);\n{sql}")
        db.execute(f"INSERT INTO schema_version VALUES ({version})")
        db.execute(
            "INSERT INTO requests (created_at, user_id, user_name, command, options, status, result)"
            " VALUES ('2026-01-01T00:00:00+00:00', 9, 'old', 'midi', '{}', 'done', 'song.mid')"
        )
        db.execute(
            "INSERT INTO requests (created_at, user_id, user_name, command, options, status)"
            " VALUES ('2026-01-01T00:00:01+00:00', 9, 'old', 'midi', '{}', 'running')"
        )
    storage = await open_storage(path, instance())
    assert await storage.schema_version() == migrations("sqlite")[-1][0] >= 3
    old = await storage.get(1)
    assert (old.user_name, old.status, old.result, old.instance_id) == ("old", "done", "song.mid", None)
    assert (await storage.renew_lease()).interrupted == 1  # the old version's open row: nobody owns it
    new = await _insert(storage)
    assert new == 3  # ids keep counting from the old rows
    await storage.finish(new, "undelivered", error="404 10062")
    assert (await storage.get(new)).status == "undelivered"
    await storage.close()


async def test_sqlite_uses_wal(tmp_path):
    storage = await open_storage(tmp_path / "h.db", instance())
    assert await storage.connector.journal_mode() == "wal"
    await storage.close()


# -- PostgreSQL: several processes, one history -------------------------------------------
async def test_two_processes_on_one_shard_set_the_second_refuses(postgres_database):
    _, url = postgres_database
    a = await open_storage(url, instance(ShardClaim(frozenset({0, 1}))))
    try:
        with pytest.raises(StorageError, match=r"already serves shard 1, 2 on DATABASE_URL=.*:\*\*\*@"):
            await open_storage(url, instance(ShardClaim(frozenset({1, 2}))))
        with pytest.raises(StorageError, match="already serves all shards"):
            await open_storage(url, instance(BOT))
        b = await open_storage(url, instance(ShardClaim(frozenset({2, 3}))))  # disjoint: welcome
        console = await open_storage(url, instance(None))  # serves no shard
        await console.close()
        await b.close()
    finally:
        await a.close()
    again = await open_storage(url, instance(ShardClaim(frozenset({1}))))  # free once a stopped
    await again.close()


async def test_caps_and_cooldown_hold_across_processes(postgres_database):
    _, url = postgres_database
    a = await open_storage(url, instance(ShardClaim(frozenset({0}))))
    b = await open_storage(url, instance(ShardClaim(frozenset({1}))))
    takers = [s for s in (a, b) for _ in range(10)]
    burst = await asyncio.gather(*(s.take_hold(7, max_open=3, cooldown_seconds=0) for s in takers))
    assert sum(isinstance(r, int) for r in burst) == 3
    first = await a.take_hold(8, max_open=3, cooldown_seconds=30)
    assert isinstance(first, int)
    assert (await b.take_hold(8, max_open=3, cooldown_seconds=30)).reason == "cooldown"
    for taker, hold in zip(takers, burst, strict=True):  # which process won each hold is a race
        if taker is b and isinstance(hold, int):
            await b.release_hold(hold, restore_cooldown=False)
    while isinstance(await a.take_hold(7, max_open=3, cooldown_seconds=0), int):
        pass  # until a holds all three
    assert (await b.take_hold(7, max_open=3, cooldown_seconds=0)).reason == "user_cap"
    await a.close()  # its holds go with it
    assert isinstance(await b.take_hold(7, max_open=3, cooldown_seconds=0), int)
    await b.close()


async def test_only_a_dead_processes_rows_are_interrupted(postgres_database):
    _, url = postgres_database
    live = await open_storage(url, instance(ShardClaim(frozenset({0})), lease=30))
    dying = await open_storage(url, instance(ShardClaim(frozenset({1})), lease=1))
    mine = await _insert(live)
    await live.mark_running([mine])
    theirs = await _insert(dying)
    held = await dying.take_hold(5, max_open=1, cooldown_seconds=0)
    assert isinstance(held, int)
    await _crash(dying)
    assert (await live.renew_lease()).interrupted == 0  # its lease has not run out yet
    assert (await live.get(theirs)).status == "queued"
    await asyncio.sleep(1.2)
    assert (await live.renew_lease()).interrupted == 1
    assert (await live.get(theirs)).status == "interrupted"
    assert (await live.get(mine)).status == "running"  # a live process's rows are never touched
    assert isinstance(await live.take_hold(5, max_open=1, cooldown_seconds=0), int)  # its holds died too
    await live.close()


async def test_a_lost_connection_is_retried_and_nothing_in_flight_is_lost(
    postgres, postgres_database, caplog
):
    name, url = postgres_database
    storage = await open_storage(url, instance())
    request_id = await _insert(storage)
    await storage.mark_running([request_id])
    postgres.terminate_connections(name)  # the server drops every connection
    with caplog.at_level("WARNING"):
        await storage.finish(request_id, "done", result="made it")
        assert (await storage.get(request_id)).status == "done"
        assert (await storage.renew_lease()).interrupted == 0  # the shard locks are taken again
    assert "retrying" in caplog.text and "database back" in caplog.text
    with pytest.raises(StorageError, match="already serves"):
        await open_storage(url, instance())
    await storage.close()


@pytest.mark.parametrize(
    ("make_url", "problem"),
    [
        (lambda pg, db: pg.url(db, password="wrong-pass"), "refused the login"),
        (lambda pg, db: pg.url("no_such_database"), "does not exist"),
        (lambda pg, db: "postgresql://balladeer:s3cret-pass@127.0.0.1:1/x", "cannot reach the PostgreSQL"),
        (lambda pg, db: "mysql://balladeer:s3cret-pass@localhost/x", "unknown scheme"),
    ],
)
async def test_an_unusable_server_is_one_error_naming_the_setting_with_the_password_masked(
    postgres, postgres_database, make_url, problem
):
    url = make_url(postgres, postgres_database[0])
    with pytest.raises(StorageError) as caught:
        await open_storage(url, instance())
    message = str(caught.value)
    assert problem in message and "DATABASE_URL=" in message
    assert "s3cret-pass" not in message and "wrong-pass" not in message and ":***@" in message


async def test_a_servers_settings_are_kept_and_copied(database_url, tmp_path):
    from bot.db import copy_history

    storage = await open_storage(database_url, instance())
    unset = await storage.guild_setting(5)  # masked, default sounds, unless a server says otherwise
    assert (unset.profanity, unset.soundfont, unset.changed_by) == (False, None, None)
    await storage.set_profanity_allowed(5, True, user_id=42)
    await storage.set_soundfont(5, "FluidR3_GM", user_id=44)  # one choice keeps the other
    await storage.set_profanity_allowed(6, True, user_id=42)
    await storage.set_profanity_allowed(6, False, user_id=43)
    five, six = await storage.guild_setting(5), await storage.guild_setting(6)
    assert (five.profanity, five.soundfont, five.changed_by) == (True, "FluidR3_GM", 44)
    assert (six.profanity, six.soundfont, six.changed_by) == (False, None, 43)
    assert await storage.guild_settings() == [five, six]
    await storage.close()
    copy = await copy_history(database_url, str(tmp_path / "copy.db"))
    assert copy.server_settings == 2
    target = await open_storage(tmp_path / "copy.db", None)
    assert await target.guild_setting(5) == five and not (await target.guild_setting(6)).profanity
    await target.close()
