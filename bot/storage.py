"""Request history in SQLite (aiosqlite, WAL), schema by numbered SQL migrations.

A request row is inserted when the request is accepted and updated when it ends, so the
history survives a crash; rows a crash left queued or running are marked interrupted at
the next start. Rows are only ever inserted or have their own status updated.

One bot process owns a database file: it holds an exclusive lock on `<file>.lock` while it
runs, so a second instance cannot mark the first one's running requests interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from ml.errors import BalladeerError

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"V(\d+)__\w+\.sql")


@dataclass(frozen=True)
class RequestRecord:
    id: int
    created_at: str
    finished_at: str | None
    guild_id: int | None
    channel_id: int | None
    user_id: int
    user_name: str
    command: str
    options: dict[str, Any]
    status: str
    result: str | None
    error: str | None
    duration_ms: int | None
    model_version: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every bundled migration, in order."""
    found = []
    for entry in resources.files("bot.migrations").iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


class StorageError(BalladeerError):
    """The database cannot be opened or is held by another instance; names the setting."""


class Storage:
    def __init__(self, db: aiosqlite.Connection, lock: int | None) -> None:
        self._db = db
        self._lock = lock

    @classmethod
    async def open(cls, path: str | Path) -> Storage:
        """Lock, open (creating if needed), switch to WAL, apply pending migrations.

        Every failure is a StorageError naming DATABASE_PATH, and nothing is left open.
        """
        in_memory = str(path) == ":memory:"
        lock = None if in_memory else _lock_beside(Path(path))
        db = None
        try:
            if not in_memory:
                await asyncio.to_thread(_probe, path)
            db = await aiosqlite.connect(path)
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            storage = cls(db, lock)
            await storage._migrate()
            return storage
        except (sqlite3.Error, OSError) as exc:
            if db is not None:  # else its worker thread keeps the process alive
                await db.close()
            _unlock(lock)
            raise StorageError(f"cannot use DATABASE_PATH={path} as an SQLite database: {exc}") from None

    async def _migrate(self) -> None:
        await self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        async with self._db.execute("SELECT MAX(version) FROM schema_version") as cursor:
            current = (await cursor.fetchone())[0] or 0
        for version, sql in migrations():
            if version > current:
                await self._db.executescript(
                    f"BEGIN;\n{sql}\nINSERT INTO schema_version VALUES ({version});\nCOMMIT;"
                )
                log.info("database migrated to version %d", version)

    async def close(self) -> None:
        await self._db.close()
        _unlock(self._lock)
        self._lock = None

    async def schema_version(self) -> int:
        async with self._db.execute("SELECT MAX(version) FROM schema_version") as cursor:
            return (await cursor.fetchone())[0] or 0

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
    ) -> int:
        cursor = await self._db.execute(
            "INSERT INTO requests (created_at, guild_id, channel_id, user_id, user_name, command,"
            " options, status, model_version) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
            (
                _now(),
                guild_id,
                channel_id,
                user_id,
                user_name,
                command,
                json.dumps(options),
                model_version,
            ),
        )
        await self._db.commit()
        return cursor.lastrowid

    async def mark_running(self, request_ids: list[int]) -> None:
        await self._db.executemany(
            "UPDATE requests SET status = 'running' WHERE id = ? AND status = 'queued'",
            [(i,) for i in request_ids],
        )
        await self._db.commit()

    async def finish(
        self,
        request_id: int,
        status: str,
        *,
        result: str | None = None,
        error: str | None = None,
        duration_ms: int | None = None,
    ) -> None:
        """Close a queued or running request as done, undelivered, failed or interrupted."""
        await self._db.execute(
            "UPDATE requests SET status = ?, result = ?, error = ?, duration_ms = ?,"
            " finished_at = ? WHERE id = ? AND status IN ('queued', 'running')",
            (status, result, error, duration_ms, _now(), request_id),
        )
        await self._db.commit()

    async def mark_interrupted(self) -> int:
        """Close rows a crash left open; returns how many."""
        cursor = await self._db.execute(
            "UPDATE requests SET status = 'interrupted', finished_at = ?,"
            " error = 'the bot stopped before it finished'"
            " WHERE status IN ('queued', 'running')",
            (_now(),),
        )
        await self._db.commit()
        return cursor.rowcount

    async def history(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int | None = None,
        limit: int = 10,
    ) -> list[RequestRecord]:
        """Newest first: a server's requests, or in a DM that channel's."""
        where, params = (
            (["guild_id = ?"], [guild_id])
            if guild_id is not None
            else (["guild_id IS NULL AND channel_id = ?"], [channel_id])
        )
        if user_id is not None:
            where.append("user_id = ?")
            params.append(user_id)
        sql = f"SELECT * FROM requests WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        async with self._db.execute(sql, (*params, limit)) as cursor:
            rows = await cursor.fetchall()
        return [_record(row) for row in rows]

    async def get(self, request_id: int) -> RequestRecord | None:
        async with self._db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)) as cursor:
            row = await cursor.fetchone()
        return _record(row) if row else None


def _probe(path: str | Path) -> None:
    """Open and read the file with plain sqlite3 first: a failed aiosqlite connect leaves
    its worker thread to report to a loop that may be gone, so unusable files stop here."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA schema_version")  # reads the header: "file is not a database"
    finally:
        db.close()


def _lock_beside(path: Path) -> int:
    """An exclusive lock on `<path>.lock`, taken without waiting; the open descriptor."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot use DATABASE_PATH={path}: cannot create the folder {path.parent} ({exc.strerror}; "
            "is part of that path a file?)"
        ) from None
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(
            f"cannot use DATABASE_PATH={path}: cannot create its lock file {lock_path} ({exc.strerror})"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StorageError(
            f"another Balladeer instance is using DATABASE_PATH={path} (it holds {lock_path}); "
            "stop it first, or give this instance its own DATABASE_PATH."
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
