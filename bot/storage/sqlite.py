"""SQLite (aiosqlite, WAL) under the history's SQL: the embedded default, one process per file.

One bot process owns a file: it holds an exclusive lock on `<file>.lock` while it runs, so
every other instance recorded in the file is dead, and the open rows a crash left are
marked interrupted at the next start. The statements themselves are in `bot.storage.sql`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.base import Instance, StorageError, migrations
from bot.storage.dialect import SQLITE
from bot.storage.sql import Failure, SqlStorage, Transaction

log = logging.getLogger(__name__)

_TRANSIENT = ("locked", "busy")  # another connection holds the file for a moment


class SqliteConnector:
    """One aiosqlite connection, one transaction at a time, and the file's lock."""

    dialect = SQLITE
    sole_user = True  # the lock file proves every other recorded instance dead

    def __init__(self, db: aiosqlite.Connection, lock: int | None, shown: str) -> None:
        self._db = db
        self._lock = lock
        self.url_shown = shown
        # One connection serves every coroutine: a transaction of several statements
        # must not interleave with another's.
        self._writing = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Transaction]:
        async with self._writing:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(self._db)
            except BaseException:
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await self._db.rollback()
                raise
            await self._db.commit()

    def classify(self, error: BaseException) -> Failure | None:
        if isinstance(error, sqlite3.OperationalError) and any(w in str(error) for w in _TRANSIENT):
            return "transient"
        if isinstance(error, sqlite3.ProgrammingError):  # a statement of ours is wrong: a bug
            return None
        return "fatal" if isinstance(error, sqlite3.Error | OSError) else None

    async def sweep_lock(self, tx: Transaction) -> None:
        """BEGIN IMMEDIATE already serializes every writer."""

    async def before_renewal(self) -> None:
        """Nothing is lost with a connection to a file."""

    async def schema_version(self) -> int:
        try:
            async with self._db.execute("SELECT MAX(version) FROM schema_version") as cursor:
                return (await cursor.fetchone())[0] or 0
        except sqlite3.OperationalError:  # no such table: a new file
            return 0

    async def migrate(self) -> None:
        await self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await self.schema_version()
        for version, sql in migrations("sqlite"):
            if version > current:
                await self._db.executescript(
                    f"BEGIN;\n{sql}\nINSERT INTO schema_version VALUES ({version});\nCOMMIT;"
                )
                log.info("database migrated to version %d", version)

    async def damage(self) -> str | None:
        async with self._db.execute("PRAGMA integrity_check(3)") as cursor:
            problems = [row[0] for row in await cursor.fetchall()]
        if problems == ["ok"]:
            return None
        lines = [line.strip(" *") for problem in problems for line in problem.splitlines()]
        return "; ".join(line for line in lines if line)

    async def journal_mode(self) -> str:
        async with self._db.execute("PRAGMA journal_mode") as cursor:
            return (await cursor.fetchone())[0]

    async def close(self) -> None:
        await self._db.close()
        _unlock(self._lock)
        self._lock = None


class _Transaction:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, statement: str, *params: Any) -> int:
        async with self._db.execute(statement, params) as cursor:
            return cursor.rowcount

    async def fetch(self, statement: str, *params: Any) -> list[Mapping[str, Any]]:
        async with self._db.execute(statement, params) as cursor:
            return [dict(row) for row in await cursor.fetchall()]


async def open_sqlite(
    path: str, shown: str, instance: Instance | None, *, migrate: bool = True, create: bool = True
) -> SqlStorage:
    """Lock, open (creating if needed), switch to WAL, apply pending migrations and, for a
    bot instance, register it (the file lock means no other instance is alive).

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
        connector = SqliteConnector(db, lock, shown)
        if migrate:
            await connector.migrate()
        storage = SqlStorage(connector, instance)
        if instance is not None:
            await storage.register()
        return storage
    except (sqlite3.Error, OSError, StorageError) as exc:
        if db is not None:  # else its worker thread keeps the process alive
            await db.close()
        _unlock(lock)
        if isinstance(exc, StorageError):
            raise
        raise StorageError(f"cannot use DATABASE_URL={shown} as an SQLite database: {exc}") from None


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
