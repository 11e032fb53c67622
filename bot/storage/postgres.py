"""Request history in PostgreSQL (an asyncpg pool), shared by every bot process.

Each process registers as an instance with a lease, and claims its shards with session
advisory locks on a connection of its own, so two processes cannot serve the same shard.
A connection lost while running is retried with backoff; the requests in flight wait for
it rather than being dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from bot.storage.base import (
    INTERRUPTED_BY_STOP,
    GuildSetting,
    HoldRefused,
    Instance,
    RequestRecord,
    ShardClaim,
    StorageError,
    hold_refusal,
    migrations,
    origin_of,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

LOCK_SPACE = 0x42414C  # the advisory-lock namespace of Balladeer ("BAL")
ALL_SHARDS = -1  # the lock a process serving every shard takes exclusively, the others shared
MIGRATION_LOCK = -2
CONNECT_TIMEOUT_S = 10.0
RETRY_FOR_S = 120.0  # how long an operation waits for a lost server before it fails
_COLUMNS = (
    "created_at, finished_at, guild_id, channel_id, user_id, user_name, command, options,"
    " status, result, error, duration_ms, model_version, instance_id, origin"
)
# What a lost or restarting server raises; anything else is a bug or a bad query.
CONNECTION_LOST = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.CannotConnectNowError,
)


class PostgresStorage:
    def __init__(
        self,
        pool: asyncpg.Pool,
        lock_connection: asyncpg.Connection | None,
        instance: Instance | None,
        dsn: str,
        shown: str,
    ) -> None:
        self._pool = pool
        self._locks = lock_connection
        self._dsn = dsn
        self.instance = instance
        self.url_shown = shown

    @classmethod
    async def open(
        cls, dsn: str, shown: str, instance: Instance | None, *, migrate: bool = True, create: bool = True
    ) -> PostgresStorage:
        """Connect, migrate (one process at a time), claim the instance's shards, register.

        Every failure is one StorageError naming DATABASE_URL with the password masked."""
        pool = await _connect(dsn, shown)
        locks = None
        try:
            if not create and not await pool.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
                raise asyncpg.UndefinedTableError("no schema_version table")
            if migrate:
                await _migrate(pool)
            if instance is not None and instance.shards is not None:
                locks = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
                await _claim_shards(locks, pool, instance, shown)
            storage = cls(pool, locks, instance, dsn, shown)
            if instance is not None:
                await storage._register(instance)
            return storage
        except asyncpg.UndefinedTableError:
            await _close_quietly(pool, locks)
            raise StorageError(f"DATABASE_URL={shown} holds no Balladeer history (no tables yet)") from None
        except BaseException:
            await _close_quietly(pool, locks)
            raise

    async def _register(self, instance: Instance) -> None:
        """Holding the shard locks proves every earlier instance on these shards is dead."""
        async with self._pool.acquire() as conn, conn.transaction():
            if instance.shards is not None:
                rows = await conn.fetch("SELECT id, shards FROM instances")
                dead = [
                    r["id"]
                    for r in rows
                    if (claim := ShardClaim.decode(r["shards"])) and claim.overlaps(instance.shards)
                ]
                await conn.execute("DELETE FROM holds WHERE instance_id = ANY($1)", dead)
                await conn.execute("DELETE FROM instances WHERE id = ANY($1)", dead)
            await _insert_instance(conn, instance)

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation`, waiting out a lost connection with backoff (logged)."""
        delay, started = 0.5, time.monotonic()
        while True:
            try:
                result = await operation()
            except CONNECTION_LOST as exc:
                waited = time.monotonic() - started
                if waited + delay > RETRY_FOR_S:
                    raise StorageError(
                        f"lost the connection to DATABASE_URL={self.url_shown} for {waited:.0f} s ({exc})"
                    ) from None
                log.warning(
                    "database connection lost (%s: %s); retrying %s in %.1f s, requests in flight are kept",
                    type(exc).__name__, exc, what, delay,
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            waited = time.monotonic() - started
            if waited > delay:
                log.warning("database connection back; %s done after %.1f s", what, waited)
            return result

    async def close(self) -> None:
        if self.instance is not None:
            try:
                async with asyncio.timeout(5), self._pool.acquire() as conn, conn.transaction():
                    await conn.execute("DELETE FROM holds WHERE instance_id = $1", self.instance.id)
                    await conn.execute("DELETE FROM instances WHERE id = $1", self.instance.id)
            except (*CONNECTION_LOST, TimeoutError) as exc:
                log.warning("could not deregister from the database (%s); its lease will expire", exc)
        await _close_quietly(self._pool, self._locks)

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            if not await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
                return 0
            return await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")

    async def database_id(self) -> str:
        return await self._pool.fetchval("SELECT value FROM database_info WHERE key = 'id'")

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

        async def insert() -> int:
            async with self._pool.acquire() as conn, conn.transaction():
                request_id = await conn.fetchval(
                    "INSERT INTO requests (created_at, guild_id, channel_id, user_id, user_name, command,"
                    " options, status, model_version, instance_id)"
                    " VALUES (now(), $1, $2, $3, $4, $5, $6::jsonb, 'queued', $7, $8) RETURNING id",
                    guild_id, channel_id, user_id, user_name, command, json.dumps(options),
                    model_version, instance_id,
                )  # fmt: skip
                if hold_id is not None:
                    await conn.execute("UPDATE holds SET request_id = $1 WHERE id = $2", request_id, hold_id)
                return request_id

        return await self._retrying("storing a request", insert)

    async def mark_running(self, request_ids: list[int]) -> None:
        await self._retrying(
            "marking requests running",
            lambda: self._pool.execute(
                "UPDATE requests SET status = 'running' WHERE id = ANY($1) AND status = 'queued'", request_ids
            ),
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
        async def close_row() -> None:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "UPDATE requests SET status = $1, result = $2, error = $3, duration_ms = $4,"
                    " finished_at = now() WHERE id = $5 AND status IN ('queued', 'running')",
                    status, result, error, duration_ms, request_id,
                )  # fmt: skip
                await conn.execute("DELETE FROM holds WHERE request_id = $1", request_id)

        await self._retrying(f"storing request #{request_id} as {status}", close_row)

    async def take_hold(self, user_id: int, *, max_open: int, cooldown_seconds: float) -> int | HoldRefused:
        """One transaction per user at a time (the cooldown row is locked), on the server's
        clock, so processes on different machines agree."""
        if self.instance is None:
            raise StorageError("holds need a bot instance; this database was opened for maintenance")
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO cooldowns VALUES ($1, NULL) ON CONFLICT (user_id) DO NOTHING", user_id
            )
            row = await conn.fetchrow(
                "SELECT accepted_at, extract(epoch FROM clock_timestamp())::float8 AS now"
                " FROM cooldowns WHERE user_id = $1 FOR UPDATE",
                user_id,
            )
            open_requests = await conn.fetchval(
                "SELECT COUNT(*) FROM holds JOIN instances ON instances.id = holds.instance_id"
                " WHERE holds.user_id = $1 AND instances.lease_until > clock_timestamp()",
                user_id,
            )
            refused = hold_refusal(row["now"], row["accepted_at"], open_requests, max_open, cooldown_seconds)
            if refused:
                return refused
            hold_id = await conn.fetchval(
                "INSERT INTO holds (user_id, instance_id, previous_accept) VALUES ($1, $2, $3) RETURNING id",
                user_id,
                self.instance.id,
                row["accepted_at"],
            )
            await conn.execute(
                "UPDATE cooldowns SET accepted_at = $1 WHERE user_id = $2", row["now"], user_id
            )
            return hold_id

    async def release_hold(self, hold_id: int, *, restore_cooldown: bool) -> None:
        async def release() -> None:
            async with self._pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    "DELETE FROM holds WHERE id = $1 RETURNING user_id, previous_accept", hold_id
                )
                if row and restore_cooldown:
                    await conn.execute(
                        "UPDATE cooldowns SET accepted_at = $1 WHERE user_id = $2",
                        row["previous_accept"],
                        row["user_id"],
                    )

        await self._retrying("giving back a place in line", release)

    async def renew_lease(self) -> int:
        if self.instance is None:
            raise StorageError("a lease needs a bot instance; this database was opened for maintenance")
        instance = self.instance

        async def renew() -> int:
            await self._reclaim_shards()
            async with self._pool.acquire() as conn, conn.transaction():
                renewed = await conn.execute(
                    "UPDATE instances SET lease_until = clock_timestamp() + $2 * interval '1 second'"
                    " WHERE id = $1",
                    instance.id,
                    instance.lease_seconds,
                )
                if renewed == "UPDATE 0":
                    log.warning(
                        "this process's lease had run out (the database was out of reach); "
                        "requests it had open may have been marked interrupted by another process"
                    )
                    await _insert_instance(conn, instance)
                await conn.execute(
                    "DELETE FROM holds WHERE instance_id NOT IN"
                    " (SELECT id FROM instances WHERE lease_until > clock_timestamp())"
                )
                await conn.execute("DELETE FROM instances WHERE lease_until <= clock_timestamp()")
                closed = await conn.execute(
                    "UPDATE requests SET status = 'interrupted', finished_at = now(), error = $1"
                    " WHERE status IN ('queued', 'running')"
                    " AND (instance_id IS NULL OR instance_id NOT IN (SELECT id FROM instances))",
                    INTERRUPTED_BY_STOP,
                )
                return int(closed.split()[-1])

        return await self._retrying("renewing this process's lease", renew)

    async def _reclaim_shards(self) -> None:
        """After a lost connection the advisory locks are gone with it: take them again."""
        if self._locks is None or not self._locks.is_closed():
            return
        self._locks = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_S)
        try:
            await _claim_shards(self._locks, self._pool, self.instance, self.url_shown)
        except StorageError as exc:
            log.error("%s", exc)

    async def history(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int | None = None,
        limit: int = 10,
    ) -> list[RequestRecord]:
        where, params = (
            (["guild_id = $1"], [guild_id])
            if guild_id is not None
            else (["guild_id IS NULL AND channel_id = $1"], [channel_id])
        )
        if user_id is not None:
            where.append("user_id = $2")
            params.append(user_id)
        sql = (
            f"SELECT id, {_COLUMNS} FROM requests WHERE {' AND '.join(where)}"
            f" ORDER BY created_at DESC, id DESC LIMIT ${len(params) + 1}"
        )
        rows = await self._retrying("reading the history", lambda: self._pool.fetch(sql, *params, limit))
        return [_record(row) for row in rows]

    async def get(self, request_id: int) -> RequestRecord | None:
        row = await self._pool.fetchrow(f"SELECT id, {_COLUMNS} FROM requests WHERE id = $1", request_id)
        return _record(row) if row else None

    async def rows_after(self, after_id: int, limit: int) -> list[RequestRecord]:
        rows = await self._pool.fetch(
            f"SELECT id, {_COLUMNS} FROM requests WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
        )
        return [_record(row) for row in rows]

    async def copy_in(self, records: list[RequestRecord], source_id: str) -> int:
        added = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for r in records:
                status = await conn.execute(
                    f"INSERT INTO requests ({_COLUMNS}) VALUES"
                    " ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13, $14, $15)"
                    " ON CONFLICT (origin) DO NOTHING",
                    _timestamp(r.created_at), _timestamp(r.finished_at), r.guild_id, r.channel_id,
                    r.user_id, r.user_name, r.command, json.dumps(r.options), r.status, r.result,
                    r.error, r.duration_ms, r.model_version, r.instance_id, origin_of(r, source_id),
                )  # fmt: skip
                added += status == "INSERT 0 1"
        return added

    async def profanity_allowed(self, guild_id: int) -> bool:
        return bool(
            await self._retrying(
                "reading a server's settings",
                lambda: self._pool.fetchval(
                    "SELECT profanity FROM guild_settings WHERE guild_id = $1", guild_id
                ),
            )
        )

    async def set_profanity_allowed(self, guild_id: int, allowed: bool, user_id: int) -> None:
        await self._retrying(
            "storing a server's settings",
            lambda: self._pool.execute(
                "INSERT INTO guild_settings VALUES ($1, $2, $3, now()) ON CONFLICT (guild_id) DO UPDATE"
                " SET profanity = excluded.profanity, changed_by = excluded.changed_by,"
                " changed_at = excluded.changed_at",
                guild_id,
                allowed,
                user_id,
            ),
        )

    async def guild_settings(self) -> list[GuildSetting]:
        rows = await self._pool.fetch("SELECT * FROM guild_settings ORDER BY guild_id")
        return [GuildSetting(r[0], r[1], r[2], _iso(r[3])) for r in rows]

    async def copy_guild_settings(self, settings: list[GuildSetting]) -> int:
        added = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for g in settings:
                status = await conn.execute(
                    "INSERT INTO guild_settings VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id) DO NOTHING",
                    g.guild_id,
                    g.profanity,
                    g.changed_by,
                    _timestamp(g.changed_at),
                )
                added += status == "INSERT 0 1"
        return added

    async def counts(self) -> dict[str, int]:
        rows = await self._pool.fetch("SELECT status, COUNT(*) AS n FROM requests GROUP BY status")
        counts = {r["status"]: r["n"] for r in rows}
        counts["live instances"] = await self._pool.fetchval(
            "SELECT COUNT(*) FROM instances WHERE lease_until > clock_timestamp()"
        )
        return counts


async def _insert_instance(conn: asyncpg.Connection, instance: Instance) -> None:
    """Register `instance` with a lease from now, on the server's clock."""
    await conn.execute(
        "INSERT INTO instances VALUES ($1, $2, clock_timestamp(),"
        " clock_timestamp() + $3 * interval '1 second')",
        instance.id,
        instance.encoded_shards(),
        instance.lease_seconds,
    )


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


def _timestamp(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _record(row: asyncpg.Record) -> RequestRecord:
    values = dict(row)
    values["options"] = json.loads(values["options"])
    values["created_at"] = _iso(values["created_at"])
    values["finished_at"] = _iso(values["finished_at"])
    return RequestRecord(**values)
