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
