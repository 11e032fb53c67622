"""PostgreSQL (an asyncpg pool) under the history's SQL, shared by every bot process.

Each process registers as an instance with a lease, and claims its shards with session
advisory locks on a connection of its own, so two processes cannot serve the same shard.
The statements themselves are in `bot.storage.sql`, which retries what is transient.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bot.storage.base import Instance, StorageError, migrations
from bot.storage.dialect import POSTGRESQL
from bot.storage.sql import Failure, SqlStorage, Transaction

log = logging.getLogger(__name__)

LOCK_SPACE = 0x42414C  # the advisory-lock namespace of Balladeer ("BAL")
ALL_SHARDS = -1  # the lock a process serving every shard takes exclusively, the others shared
MIGRATION_LOCK = -2
SWEEP_LOCK = -3  # held while a process closes dead instances' rows: one sweep at a time
CONNECT_TIMEOUT_S = 10.0
# What passes if tried again: a lost or restarting server, a deadlock or serialization
# failure (the transaction was rolled back), a lock that timed out, a full server.
TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TransactionRollbackError,  # deadlock detected, serialization failure
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InternalClientError,  # a pooled connection found broken as it is reset
)


class PostgresConnector:
    """An asyncpg pool, plus a connection of its own that holds the shard locks."""

    dialect = POSTGRESQL
    sole_user = False  # processes share it; shard locks prove which instances are dead

    def __init__(
        self,
        pool: asyncpg.Pool,
        lock_connection: asyncpg.Connection | None,
        dsn: str,
        shown: str,
        instance: Instance | None,
    ) -> None:
        self._pool = pool
        self._locks = lock_connection
        self._dsn = dsn
        self.url_shown = shown
        self._instance = instance  # whose shards the lock connection holds

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Transaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _Transaction(conn)

    def classify(self, error: BaseException) -> Failure | None:
        if isinstance(error, TRANSIENT):
            return "transient"
        if isinstance(error, asyncpg.PostgresError):
            return "fatal"
        return None

    async def sweep_lock(self, tx: Transaction) -> None:
        await tx.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_SPACE, SWEEP_LOCK)

    async def before_renewal(self) -> None:
        """After a lost connection the advisory locks are gone with it: take them again."""
        if self._locks is None or not self._locks.is_closed():
            return
        self._locks = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S)
        try:
            await _claim_shards(self._locks, self._pool, self._instance, self.url_shown)
        except StorageError as exc:
            log.error("%s", exc)

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            if not await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
                return 0
            return await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")

    async def damage(self) -> str | None:
        """The server checksums and recovers its own pages; reading every row is the check
        left to a client."""
        async with self._pool.acquire() as conn:
            await conn.fetchval("SELECT count(*) FROM (SELECT * FROM requests) AS every_row")
        return None

    async def close(self) -> None:
        await _close_quietly(self._pool, self._locks)


class _Transaction:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, statement: str, *params: Any) -> int:
        status = await self._conn.execute(statement, *params)
        count = status.rsplit(" ", 1)[-1]  # "UPDATE 3", "INSERT 0 1", SELECT 1
        return int(count) if count.isdigit() else 0

    async def fetch(self, statement: str, *params: Any) -> list[Mapping[str, Any]]:
        return [dict(row) for row in await self._conn.fetch(statement, *params)]


async def open_postgres(
    dsn: str, shown: str, instance: Instance | None, *, migrate: bool = True, create: bool = True
) -> SqlStorage:
    """Connect, migrate (one process at a time), claim the instance's shards, register.

    Every failure is one StorageError naming DATABASE_URL with the password masked."""
    pool = await _connect(dsn, shown)
    locks = None
    try:
        if not create and not await pool.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
            raise StorageError(f"DATABASE_URL={shown} holds no Balladeer history (no tables yet)")
        if migrate:
            await _migrate(pool)
        if instance is not None and instance.shards is not None:
            locks = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
            await _claim_shards(locks, pool, instance, shown)
        storage = SqlStorage(PostgresConnector(pool, locks, dsn, shown, instance), instance)
        if instance is not None:
            await storage.register()
        return storage
    except BaseException:
        await _close_quietly(pool, locks)
        raise


async def _connect(dsn: str, shown: str) -> asyncpg.Pool:
    """A pool, or one StorageError that says what to fix."""
    try:
        return await asyncpg.create_pool(
            dsn, min_size=1, max_size=4, timeout=CONNECT_TIMEOUT_S, command_timeout=60
        )
    except asyncpg.InvalidCatalogNameError as exc:
        raise StorageError(f"DATABASE_URL={shown}: {exc}; create it first (createdb)") from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise StorageError(f"DATABASE_URL={shown}: the server refused the login ({exc})") from None
    except (OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise StorageError(
            f"cannot reach the PostgreSQL server of DATABASE_URL={shown} ({reason}); "
            "is it running, and are the host and port right?"
        ) from None
    except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise StorageError(f"cannot use DATABASE_URL={shown}: {_scrubbed(exc, dsn)}") from None


def _scrubbed(exc: Exception, dsn: str) -> str:
    """An error message that may quote the DSN, with the password out of it."""
    text = str(exc)
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


async def _migrate(pool: asyncpg.Pool) -> None:
    """Pending migrations in one transaction, under a lock, so processes starting together
    migrate once."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_SPACE, MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        for version, sql in migrations("postgresql"):
            if version > current:
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_version VALUES ($1)", version)
                log.info("database migrated to version %d", version)


async def _claim_shards(
    locks: asyncpg.Connection, pool: asyncpg.Pool, instance: Instance, shown: str
) -> None:
    """Session advisory locks: every shard exclusively, and the all-shards lock shared (or,
    serving every shard, exclusively), so any overlap between two live processes shows."""
    ids = instance.shards.ids
    taken = await (
        locks.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, ALL_SHARDS)
        if ids is None
        else locks.fetchval("SELECT pg_try_advisory_lock_shared($1, $2)", LOCK_SPACE, ALL_SHARDS)
    )
    busy = [] if taken else ["all"]
    for shard in sorted(ids or ()):
        if not await locks.fetchval("SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, shard):
            busy.append(str(shard))
    if busy:
        await locks.close()
        holders = await pool.fetch(
            "SELECT id, shards FROM instances WHERE lease_until > clock_timestamp() AND shards <> 'none'"
        )
        named = ", ".join(f"{r['id']} ({r['shards']})" for r in holders) or "another process"
        raise StorageError(
            f"another Balladeer process already serves {instance.shards.describe()} on "
            f"DATABASE_URL={shown} ({named}); give each process its own SHARD_IDS"
        )


async def _close_quietly(pool: asyncpg.Pool, locks: asyncpg.Connection | None) -> None:
    if locks is not None and not locks.is_closed():
        await locks.close()
    try:
        async with asyncio.timeout(5):
            await pool.close()
    except TimeoutError:
        pool.terminate()
