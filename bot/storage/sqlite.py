"""Request history in SQLite (aiosqlite, WAL): the embedded default, one process per file.

A request row is inserted when the request is accepted and updated when it ends, so the
history survives a crash. One bot process owns a file: it holds an exclusive lock on
`<file>.lock` while it runs, so every other instance recorded in the file is dead, and
the open rows a crash left are marked interrupted at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.base import (
    INTERRUPTED_BY_STOP,
    GuildSetting,
    HoldRefused,
    Instance,
    RequestRecord,
    StorageError,
    hold_refusal,
    migrations,
    origin_of,
)

log = logging.getLogger(__name__)

_COLUMNS = (
    "created_at, finished_at, guild_id, channel_id, user_id, user_name, command, options,"
    " status, result, error, duration_ms, model_version, instance_id, origin"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SqliteStorage:
    def __init__(self, db: aiosqlite.Connection, lock: int | None, instance: Instance | None, shown: str):
        self._db = db
        self._lock = lock
        self.instance = instance
        self.url_shown = shown
        # One connection serves every coroutine: a transaction of several statements
        # must not interleave with another's.
        self._writing = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: str, shown: str, instance: Instance | None, *, migrate: bool = True, create: bool = True
    ) -> SqliteStorage:
        """Lock, open (creating if needed), switch to WAL, apply pending migrations and,
        for a bot instance, register it and close what dead instances left open.

        Every failure is a StorageError naming DATABASE_URL, and nothing is left open.
        """
        in_memory = path == ":memory:"
        if not (create or in_memory or Path(path).is_file()):
            raise StorageError(f"DATABASE_URL={shown}: there is no such file")
        # Reading needs no lock (WAL lets a reader beside the bot); changing the file does.
        lock = None if in_memory or not migrate else _lock_beside(Path(path), shown)
        db = None
        try:
            if not in_memory:
                await asyncio.to_thread(_probe, path)
            db = await aiosqlite.connect(path)
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            storage = cls(db, lock, instance, shown)
            if migrate:
                await storage._migrate()
            if instance is not None:
                await storage._register(instance)
            return storage
        except (sqlite3.Error, OSError) as exc:
            if db is not None:  # else its worker thread keeps the process alive
                await db.close()
            _unlock(lock)
            raise StorageError(f"cannot use DATABASE_URL={shown} as an SQLite database: {exc}") from None

    async def _migrate(self) -> None:
        await self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await self.schema_version()
        for version, sql in migrations("sqlite"):
            if version > current:
                await self._db.executescript(
                    f"BEGIN;\n{sql}\nINSERT INTO schema_version VALUES ({version});\nCOMMIT;"
                )
                log.info("database migrated to version %d", version)

    async def _register(self, instance: Instance) -> None:
        """The file lock means no other instance is alive: forget them all."""
        now = time.time()
        async with self._transaction():
            await self._db.execute("DELETE FROM holds")
            await self._db.execute("DELETE FROM instances")
            await self._db.execute(
                "INSERT INTO instances VALUES (?, ?, ?, ?)",
                (instance.id, instance.encoded_shards(), now, now + instance.lease_seconds),
            )

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        async with self._writing:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def close(self) -> None:
        if self.instance is not None:
            with contextlib.suppress(sqlite3.Error):
                async with self._transaction():
                    await self._db.execute("DELETE FROM holds WHERE instance_id = ?", (self.instance.id,))
                    await self._db.execute("DELETE FROM instances WHERE id = ?", (self.instance.id,))
        await self._db.close()
        _unlock(self._lock)
        self._lock = None

    async def schema_version(self) -> int:
        try:
            async with self._db.execute("SELECT MAX(version) FROM schema_version") as cursor:
                return (await cursor.fetchone())[0] or 0
        except sqlite3.OperationalError:  # no such table: a new file
            return 0

    async def database_id(self) -> str:
        async with self._db.execute("SELECT value FROM database_info WHERE key = 'id'") as cursor:
            return (await cursor.fetchone())[0]

    async def insert_request(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        user_name: str,
        command: str,
        options: dict[str, Any],
        model_version: str | None,
        hold_id: int | None = None,
    ) -> int:
        instance_id = self.instance.id if self.instance else None
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT INTO requests (created_at, guild_id, channel_id, user_id, user_name, command,"
                " options, status, model_version, instance_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                (_now(), guild_id, channel_id, user_id, user_name, command, json.dumps(options),
                 model_version, instance_id),
            )  # fmt: skip
            request_id = cursor.lastrowid
            if hold_id is not None:
                await self._db.execute("UPDATE holds SET request_id = ? WHERE id = ?", (request_id, hold_id))
        return request_id

    async def mark_running(self, request_ids: list[int]) -> None:
        async with self._transaction():
            await self._db.executemany(
                "UPDATE requests SET status = 'running' WHERE id = ? AND status = 'queued'",
                [(i,) for i in request_ids],
            )

    async def finish(
        self,
        request_id: int,
        status: str,
        *,
        result: str | None = None,
        error: str | None = None,
        duration_ms: int | None = None,
    ) -> None:
        async with self._transaction():
            await self._db.execute(
                "UPDATE requests SET status = ?, result = ?, error = ?, duration_ms = ?,"
                " finished_at = ? WHERE id = ? AND status IN ('queued', 'running')",
                (status, result, error, duration_ms, _now(), request_id),
            )
            await self._db.execute("DELETE FROM holds WHERE request_id = ?", (request_id,))

    async def take_hold(self, user_id: int, *, max_open: int, cooldown_seconds: float) -> int | HoldRefused:
        if self.instance is None:
            raise StorageError("holds need a bot instance; this database was opened for maintenance")
        now = time.time()
        async with self._transaction():
            async with self._db.execute(
                "SELECT accepted_at FROM cooldowns WHERE user_id = ?", (user_id,)
            ) as cursor:
                row = await cursor.fetchone()
            accepted_at = row[0] if row else None
            async with self._db.execute(
                "SELECT COUNT(*) FROM holds JOIN instances ON instances.id = holds.instance_id"
                " WHERE holds.user_id = ? AND instances.lease_until > ?",
                (user_id, now),
            ) as cursor:
                open_requests = (await cursor.fetchone())[0]
            refused = hold_refusal(now, accepted_at, open_requests, max_open, cooldown_seconds)
            if refused:
                return refused
            cursor = await self._db.execute(
                "INSERT INTO holds (user_id, instance_id, previous_accept) VALUES (?, ?, ?)",
                (user_id, self.instance.id, accepted_at),
            )
            await self._db.execute(
                "INSERT INTO cooldowns VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET accepted_at = excluded.accepted_at",
                (user_id, now),
            )
            return cursor.lastrowid

    async def release_hold(self, hold_id: int, *, restore_cooldown: bool) -> None:
        async with self._transaction():
            async with self._db.execute(
                "DELETE FROM holds WHERE id = ? RETURNING user_id, previous_accept", (hold_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row and restore_cooldown:
                await self._db.execute(
                    "UPDATE cooldowns SET accepted_at = ? WHERE user_id = ?", (row[1], row[0])
                )

    async def renew_lease(self) -> int:
        if self.instance is None:
            raise StorageError("a lease needs a bot instance; this database was opened for maintenance")
        now = time.time()
        async with self._transaction():
            await self._db.execute(
                "UPDATE instances SET lease_until = ? WHERE id = ?",
                (now + self.instance.lease_seconds, self.instance.id),
            )
            await self._db.execute(
                "DELETE FROM holds WHERE instance_id NOT IN (SELECT id FROM instances WHERE lease_until > ?)",
                (now,),
            )
            await self._db.execute("DELETE FROM instances WHERE lease_until <= ?", (now,))
            cursor = await self._db.execute(
                "UPDATE requests SET status = 'interrupted', finished_at = ?, error = ?"
                " WHERE status IN ('queued', 'running')"
                " AND (instance_id IS NULL OR instance_id NOT IN (SELECT id FROM instances))",
                (_now(), INTERRUPTED_BY_STOP),
            )
            return cursor.rowcount

    async def history(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int | None = None,
        limit: int = 10,
    ) -> list[RequestRecord]:
        where, params = (
            (["guild_id = ?"], [guild_id])
            if guild_id is not None
            else (["guild_id IS NULL AND channel_id = ?"], [channel_id])
        )
        if user_id is not None:
            where.append("user_id = ?")
            params.append(user_id)
        sql = (
            f"SELECT id, {_COLUMNS} FROM requests WHERE {' AND '.join(where)}"
            " ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        async with self._db.execute(sql, (*params, limit)) as cursor:
            return [_record(row) for row in await cursor.fetchall()]

    async def get(self, request_id: int) -> RequestRecord | None:
        async with self._db.execute(
            f"SELECT id, {_COLUMNS} FROM requests WHERE id = ?", (request_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return _record(row) if row else None

    async def rows_after(self, after_id: int, limit: int) -> list[RequestRecord]:
        async with self._db.execute(
            f"SELECT id, {_COLUMNS} FROM requests WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        ) as cursor:
            return [_record(row) for row in await cursor.fetchall()]

    async def copy_in(self, records: list[RequestRecord], source_id: str) -> int:
        async with self._transaction():
            cursor = await self._db.executemany(
                f"INSERT INTO requests ({_COLUMNS}) VALUES ({', '.join('?' * 15)})"
                " ON CONFLICT (origin) WHERE origin IS NOT NULL DO NOTHING",
                [_copied_values(r, source_id) for r in records],
            )
            return cursor.rowcount

    async def profanity_allowed(self, guild_id: int) -> bool:
        async with self._db.execute(
            "SELECT profanity FROM guild_settings WHERE guild_id = ?", (guild_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return bool(row and row[0])

    async def set_profanity_allowed(self, guild_id: int, allowed: bool, user_id: int) -> None:
        async with self._transaction():
            await self._db.execute(
                "INSERT INTO guild_settings VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " profanity = excluded.profanity, changed_by = excluded.changed_by,"
                " changed_at = excluded.changed_at",
                (guild_id, int(allowed), user_id, _now()),
            )

    async def guild_settings(self) -> list[GuildSetting]:
        async with self._db.execute("SELECT * FROM guild_settings ORDER BY guild_id") as cursor:
            return [GuildSetting(r[0], bool(r[1]), r[2], r[3]) for r in await cursor.fetchall()]

    async def copy_guild_settings(self, settings: list[GuildSetting]) -> int:
        async with self._transaction():
            cursor = await self._db.executemany(
                "INSERT INTO guild_settings VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO NOTHING",
                [(g.guild_id, int(g.profanity), g.changed_by, g.changed_at) for g in settings],
            )
            return cursor.rowcount

    async def counts(self) -> dict[str, int]:
        async with self._db.execute("SELECT status, COUNT(*) FROM requests GROUP BY status") as cursor:
            counts = {status: n for status, n in await cursor.fetchall()}
        async with self._db.execute(
            "SELECT COUNT(*) FROM instances WHERE lease_until > ?", (time.time(),)
        ) as cursor:
            counts["live instances"] = (await cursor.fetchone())[0]
        return counts


def _copied_values(record: RequestRecord, source_id: str) -> tuple:
    return (
        record.created_at,
        record.finished_at,
        record.guild_id,
        record.channel_id,
        record.user_id,
        record.user_name,
        record.command,
        json.dumps(record.options),
        record.status,
        record.result,
        record.error,
        record.duration_ms,
        record.model_version,
        record.instance_id,
        origin_of(record, source_id),
    )


def _probe(path: str) -> None:
    """Open and read the file with plain sqlite3 first: a failed aiosqlite connect leaves
    its worker thread to report to a loop that may be gone, so unusable files stop here."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA schema_version")  # reads the header: "file is not a database"
    finally:
        db.close()


def _lock_beside(path: Path, shown: str) -> int:
    """An exclusive lock on `<path>.lock`, taken without waiting; the open descriptor."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot use DATABASE_URL={shown}: cannot create the folder {path.parent} ({exc.strerror}; "
            "is part of that path a file?)"
        ) from None
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(
            f"cannot use DATABASE_URL={shown}: cannot create its lock file {lock_path} ({exc.strerror})"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StorageError(
            f"another Balladeer process is using DATABASE_URL={shown} (it holds {lock_path}); "
            "stop it first, give this process its own SQLite file, or share a postgresql:// database."
        ) from None
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the descriptor releases the flock


def _record(row: aiosqlite.Row) -> RequestRecord:
    values = dict(row)
    values["options"] = json.loads(values["options"])
    return RequestRecord(**values)
