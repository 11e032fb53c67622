import pytest

from bot.storage import Storage, migrations


async def _insert(storage, user_id=1, guild_id=5, channel_id=7, command="lyrics"):
    return await storage.insert_request(
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        user_name=f"user{user_id}",
        command=command,
        options={"seed": 1},
        model_version="lyrics.pt@abc",
    )


async def test_migrations_apply_once_and_reopening_keeps_rows(tmp_path):
    path = tmp_path / "h.db"
    storage = await Storage.open(path)
    assert await storage.schema_version() == migrations()[-1][0]
    request_id = await _insert(storage)
    await storage.close()
    again = await Storage.open(path)  # migrations are not re-applied
    assert await again.schema_version() == migrations()[-1][0]
    assert (await again.get(request_id)).options == {"seed": 1}
    await again.close()


async def test_history_is_per_server_or_dm_newest_first_and_filterable(tmp_path):
    storage = await Storage.open(tmp_path / "h.db")
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


async def test_open_rows_are_marked_interrupted_and_finished_rows_are_never_rewritten(tmp_path):
    storage = await Storage.open(tmp_path / "h.db")
    done = await _insert(storage)
    await storage.finish(done, "done", result="la la", duration_ms=12)
    running = await _insert(storage)
    await storage.mark_running([running])
    queued = await _insert(storage)
    assert await storage.mark_interrupted() == 2
    assert (await storage.get(running)).status == "interrupted"
    assert (await storage.get(queued)).status == "interrupted"
    await storage.finish(done, "failed", error="late")  # a finished row stays as it was
    record = await storage.get(done)
    assert (record.status, record.result, record.error, record.duration_ms) == ("done", "la la", None, 12)
    await storage.close()


async def test_database_uses_wal(tmp_path):
    storage = await Storage.open(tmp_path / "h.db")
    async with storage._db.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"
    await storage.close()


async def test_a_version_1_database_keeps_every_row_and_learns_undelivered(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        version, sql = migrations()[0]
        db.executescript(f"CREATE TABLE schema_version (version INTEGER NOT NULL);\n{sql}")
        db.execute(f"INSERT INTO schema_version VALUES ({version})")
        db.execute(
            "INSERT INTO requests (created_at, user_id, user_name, command, options, status, result)"
            " VALUES ('2026-01-01T00:00:00+00:00', 9, 'old', 'midi', '{}', 'done', 'song.mid')"
        )
    storage = await Storage.open(path)
    assert await storage.schema_version() == migrations()[-1][0] >= 2
    old = await storage.get(1)
    assert (old.user_name, old.status, old.result) == ("old", "done", "song.mid")
    new = await _insert(storage)
    assert new == 2  # ids keep counting from the old rows
    await storage.finish(new, "undelivered", error="404 10062")
    assert (await storage.get(new)).status == "undelivered"
    await storage.close()


async def test_one_process_at_a_time_holds_a_database(tmp_path):
    from bot.storage import StorageError

    first = await Storage.open(tmp_path / "h.db")
    try:
        with pytest.raises(StorageError, match="another Balladeer instance is using DATABASE_PATH="):
            await Storage.open(tmp_path / "h.db")
    finally:
        await first.close()
    second = await Storage.open(tmp_path / "h.db")  # free again once the first closed
    await second.close()
