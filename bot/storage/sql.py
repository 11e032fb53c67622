"""The request history in SQL: every statement written once, for SQLite and PostgreSQL.

A backend (`bot.storage.sqlite`, `bot.storage.postgres`) is a thin `Connector`: it opens
and migrates the database, runs a transaction, and says which driver errors are
transient. Here, driver errors are classified in one place: transient ones (a lost
connection, a deadlock, a serialization failure, a busy lock) are retried with backoff
within `RETRY_FOR_S`, anything else becomes one `StorageError` that says what failed.

Lock order: a transaction that touches several of these tables takes them in the order
sweep lock → instances → holds → requests, so two processes cannot deadlock (a user's
cooldown row is locked only by the transactions that take or give back that user's hold).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol, TypeVar

from bot.storage.base import (
    INTERRUPTED_BY_STOP,
    GuildSetting,
    HoldRefused,
    Instance,
    LeaseRenewal,
    RequestRecord,
    ShardClaim,
    StorageError,
    hold_refusal,
    origin_of,
)
from bot.storage.dialect import Dialect

log = logging.getLogger(__name__)

T = TypeVar("T")
Failure = Literal["transient", "fatal"]

RETRY_FOR_S = 120.0  # how long an operation waits out a lost server before it fails
FIRST_RETRY_S = 0.2
LONGEST_RETRY_S = 5.0

_COLUMNS = (
    "created_at, finished_at, guild_id, channel_id, user_id, user_name, command, options,"
    " status, result, error, duration_ms, model_version, instance_id, origin"
)
_SELECT = f"SELECT id, {_COLUMNS} FROM requests"
_OPEN = "('queued', 'running')"
_SETTINGS = "SELECT guild_id, profanity, changed_by, changed_at, soundfont FROM guild_settings"


class Transaction(Protocol):
    async def execute(self, statement: str, *params: Any) -> int:
        """Run one statement; the rows it changed."""
        ...

    async def fetch(self, statement: str, *params: Any) -> list[Mapping[str, Any]]: ...


class Connector(Protocol):
    """A backend: the connection(s), one transaction at a time per call, and its errors."""

    dialect: Dialect
    url_shown: str
    sole_user: bool  # True: holding the database proves every recorded instance dead

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    def classify(self, error: BaseException) -> Failure | None:
        """transient (retry), fatal (a StorageError), or None: not a driver error (a bug)."""
        ...

    async def sweep_lock(self, tx: Transaction) -> None:
        """Serialize lease sweeps across processes for the rest of the transaction."""
        ...

    async def before_renewal(self) -> None:
        """Take back what a lost connection took with it (PostgreSQL's shard locks)."""
        ...

    async def schema_version(self) -> int: ...

    async def damage(self) -> str | None:
        """What is damaged in the stored data, read whole; None when it is sound."""
        ...

    async def close(self) -> None:
        """Close the connections; deregistering is the caller's."""
        ...


class SqlStorage:
    """The request history and the cross-process holds, over a Connector. `open_storage`
    returns one; `instance` is None when it was opened for maintenance (`python -m bot db`),
    `url_shown` is DATABASE_URL with any password masked."""

    def __init__(self, connector: Connector, instance: Instance | None) -> None:
        self.connector = connector
        self.instance = instance
        self.url_shown = connector.url_shown
        self._d = connector.dialect

    # -- running statements ---------------------------------------------------------
    async def _run(self, what: str, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """`work` in one transaction, retried while the failure is transient."""
        delay, started = FIRST_RETRY_S, time.monotonic()
        while True:
            try:
                async with self.connector.transaction() as tx:
                    result = await work(tx)
            except StorageError:
                raise
            except Exception as exc:
                failure = self.connector.classify(exc)
                if failure is None:
                    raise
                reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
                if failure == "fatal":
                    raise StorageError(f"DATABASE_URL={self.url_shown} failed {what} ({reason})") from exc
                waited = time.monotonic() - started
                if waited + delay > RETRY_FOR_S:
                    raise StorageError(
                        f"lost DATABASE_URL={self.url_shown} for {waited:.0f} s while {what} ({reason})"
                    ) from exc
                # The first failure of an operation is a warning; its further tries are detail.
                log.log(
                    logging.WARNING if delay == FIRST_RETRY_S else logging.DEBUG,
                    "database: %s while %s; retrying for up to %.0f s",
                    reason, what, RETRY_FOR_S,
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, LONGEST_RETRY_S)
                continue
            waited = time.monotonic() - started
            if waited > FIRST_RETRY_S:
                log.warning("database back after %.1f s (%s)", waited, what)
            return result

    async def _rows(self, what: str, statement: str, *params: Any) -> list[Mapping[str, Any]]:
        sql = self._d.sql(statement)
        return await self._run(what, lambda tx: tx.fetch(sql, *params))

    async def _value(self, what: str, statement: str, *params: Any) -> Any:
        rows = await self._rows(what, statement, *params)
        return next(iter(rows[0].values())) if rows else None

    async def _exec(self, tx: Transaction, statement: str, *params: Any) -> int:
        return await tx.execute(self._d.sql(statement), *params)

    async def _fetch(self, tx: Transaction, statement: str, *params: Any) -> list[Mapping[str, Any]]:
        return await tx.fetch(self._d.sql(statement), *params)

    def _me(self, what: str) -> Instance:
        if self.instance is None:
            raise StorageError(f"{what} needs a bot instance; this database was opened for maintenance")
        return self.instance

    # -- the instance ---------------------------------------------------------------
    async def register(self) -> None:
        """Record this instance with a fresh lease, forgetting the instances its claim
        proves dead (SQLite: every other; PostgreSQL: those on the shards it now holds)."""
        me = self._me("registering")

        async def register(tx: Transaction) -> None:
            rows = await self._fetch(tx, "SELECT id, shards FROM instances")
            dead = [r["id"] for r in rows if self._proven_dead(r["shards"])]
            for instance_id in dead:
                await self._exec(tx, "DELETE FROM instances WHERE id = ?", instance_id)
                await self._exec(tx, "DELETE FROM holds WHERE instance_id = ?", instance_id)
            await self._insert_instance(tx, me)

        await self._run("registering this process", register)

    def _proven_dead(self, shards: str) -> bool:
        if self.connector.sole_user:
            return True
        mine, theirs = self.instance.shards, ShardClaim.decode(shards)
        return mine is not None and theirs is not None and theirs.overlaps(mine)

    async def _insert_instance(self, tx: Transaction, me: Instance) -> None:
        await self._exec(
            tx,
            "INSERT INTO instances VALUES (?, ?, {clock}, {lease_end})",
            me.id,
            me.encoded_shards(),
            me.lease_seconds,
        )

    async def close(self) -> None:
        if self.instance is not None:
            me = self.instance

            async def deregister(tx: Transaction) -> None:
                await self._exec(tx, "DELETE FROM instances WHERE id = ?", me.id)
                await self._exec(tx, "DELETE FROM holds WHERE instance_id = ?", me.id)

            try:
                async with asyncio.timeout(5):
                    await self._run("deregistering this process", deregister)
            except (StorageError, TimeoutError) as exc:
                log.warning("could not deregister from the database (%s); its lease will expire", exc)
        await self.connector.close()

    async def renew_lease(self, *, sweep: bool = True) -> LeaseRenewal:
        """Extend this instance's lease (registering it again if it had run out) and, with
        `sweep`, close the open rows of every dead instance."""
        me = self._me("a lease")
        await self.connector.before_renewal()

        async def renew(tx: Transaction) -> LeaseRenewal:
            if sweep:
                await self.connector.sweep_lock(tx)  # first: before any row lock
            lapsed = not await self._exec(
                tx, "UPDATE instances SET lease_until = {lease_end} WHERE id = ?", me.lease_seconds, me.id
            )
            if lapsed:
                await self._insert_instance(tx, me)
            if not sweep:
                return LeaseRenewal(lapsed, 0)
            dead = [
                r["id"]
                for r in await self._fetch(tx, "SELECT id FROM instances WHERE lease_until <= {clock}")
            ]
            for instance_id in dead:
                await self._exec(tx, "DELETE FROM instances WHERE id = ?", instance_id)
            await self._exec(tx, "DELETE FROM holds WHERE instance_id NOT IN (SELECT id FROM instances)")
            interrupted = await self._exec(
                tx,
                "UPDATE requests SET status = 'interrupted', finished_at = {stamp}, error = ?"
                f" WHERE status IN {_OPEN}"
                " AND (instance_id IS NULL OR instance_id NOT IN (SELECT id FROM instances))",
                INTERRUPTED_BY_STOP,
            )
            return LeaseRenewal(lapsed, interrupted)

        renewal = await self._run("renewing this process's lease", renew)
        if renewal.lapsed:
            log.warning(
                "this process's lease had run out; registered again (requests it had open stay its own "
                "and are recorded as they finish)"
            )
        return renewal

    async def restore_holds(self, held: Sequence[tuple[int, int]]) -> None:
        """Hold again the places of requests still in flight here, given as (user, request):
        after this process's lease lapsed, another may have given them back."""
        me = self._me("holds")

        async def restore(tx: Transaction) -> None:
            for user_id, request_id in held:
                present = await self._fetch(tx, "SELECT id FROM holds WHERE request_id = ?", request_id)
                if not present:
                    await self._exec(
                        tx,
                        "INSERT INTO holds (user_id, instance_id, request_id) VALUES (?, ?, ?)",
                        user_id,
                        me.id,
                        request_id,
                    )

        await self._run("holding the places of requests in flight", restore)

    # -- requests -------------------------------------------------------------------
    async def schema_version(self) -> int:
        return await self.connector.schema_version()

    async def verify(self) -> None:
        """Read the whole database and check it is undamaged; StorageError says what is not."""
        try:
            problem = await self.connector.damage()
        except Exception as exc:
            if self.connector.classify(exc) is None:
                raise
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            raise StorageError(
                f"DATABASE_URL={self.url_shown} is damaged ({problem}); nothing was copied. "
                "Restore it from a backup, or try sqlite3's .recover into a new file."
            )

    async def database_id(self) -> str:
        """A random id given to the database when it was created (copy provenance)."""
        return await self._value(
            "reading the database id", "SELECT value FROM database_info WHERE key = 'id'"
        )

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
        """Store an accepted request as queued; its hold (if any) now belongs to it."""
        instance_id = self.instance.id if self.instance else None

        async def insert(tx: Transaction) -> int:
            rows = await self._fetch(
                tx,
                "INSERT INTO requests (created_at, guild_id, channel_id, user_id, user_name, command,"
                " options, status, model_version, instance_id)"
                " VALUES ({stamp}, ?, ?, ?, ?, ?, {json}, 'queued', ?, ?) RETURNING id",
                guild_id, channel_id, user_id, user_name, command, json.dumps(options),
                model_version, instance_id,
            )  # fmt: skip
            request_id = rows[0]["id"]
            if hold_id is not None:
                await self._exec(tx, "UPDATE holds SET request_id = ? WHERE id = ?", request_id, hold_id)
            return request_id

        return await self._run("storing a request", insert)

    async def mark_running(self, request_ids: list[int]) -> None:
        async def mark(tx: Transaction) -> None:
            for request_id in request_ids:
                await self._exec(
                    tx,
                    "UPDATE requests SET status = 'running' WHERE id = ? AND status = 'queued'",
                    request_id,
                )

        await self._run("marking requests running", mark)

    async def finish(
        self,
        request_id: int,
        status: str,
        *,
        result: str | None = None,
        error: str | None = None,
        duration_ms: int | None = None,
    ) -> None:
        """Close a queued or running request and give its hold back. Finished rows are never
        rewritten, except one of this instance's that another marked interrupted while this
        one was out of reach: the process that answered knows better."""
        instance_id = self.instance.id if self.instance else None

        async def close_row(tx: Transaction) -> None:
            await self._exec(tx, "DELETE FROM holds WHERE request_id = ?", request_id)
            await self._exec(
                tx,
                "UPDATE requests SET status = ?, result = ?, error = ?, duration_ms = ?,"
                " finished_at = {stamp}"
                f" WHERE id = ? AND (status IN {_OPEN}"
                " OR (status = 'interrupted' AND error = ? AND instance_id = ?))",
                status, result, error, duration_ms, request_id, INTERRUPTED_BY_STOP, instance_id,
            )  # fmt: skip

        await self._run(f"storing request #{request_id} as {status}", close_row)

    async def take_hold(self, user_id: int, *, max_open: int, cooldown_seconds: float) -> int | HoldRefused:
        """One transaction per user at a time (the cooldown row is locked), on the
        database's clock, so processes on different machines agree."""
        me = self._me("holds")

        async def take(tx: Transaction) -> int | HoldRefused:
            await self._exec(
                tx, "INSERT INTO cooldowns VALUES (?, NULL) ON CONFLICT (user_id) DO NOTHING", user_id
            )
            (row,) = await self._fetch(
                tx,
                "SELECT accepted_at, {epoch} AS now FROM cooldowns WHERE user_id = ? {for_update}",
                user_id,
            )
            (count,) = await self._fetch(
                tx,
                "SELECT COUNT(*) AS n FROM holds JOIN instances ON instances.id = holds.instance_id"
                " WHERE holds.user_id = ? AND instances.lease_until > {clock}",
                user_id,
            )
            refused = hold_refusal(row["now"], row["accepted_at"], count["n"], max_open, cooldown_seconds)
            if refused:
                return refused
            (hold,) = await self._fetch(
                tx,
                "INSERT INTO holds (user_id, instance_id, previous_accept) VALUES (?, ?, ?) RETURNING id",
                user_id,
                me.id,
                row["accepted_at"],
            )
            await self._exec(
                tx, "UPDATE cooldowns SET accepted_at = ? WHERE user_id = ?", row["now"], user_id
            )
            return hold["id"]

        return await self._run("taking a place in line", take)

    async def release_hold(self, hold_id: int, *, restore_cooldown: bool) -> None:
        """Give back a hold that never became a request (the cooldown it started undone)."""

        async def release(tx: Transaction) -> None:
            rows = await self._fetch(
                tx, "DELETE FROM holds WHERE id = ? RETURNING user_id, previous_accept", hold_id
            )
            if rows and restore_cooldown:
                await self._exec(
                    tx,
                    "UPDATE cooldowns SET accepted_at = ? WHERE user_id = ?",
                    rows[0]["previous_accept"],
                    rows[0]["user_id"],
                )

        await self._run("giving back a place in line", release)

    # -- reading --------------------------------------------------------------------
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
        rows = await self._rows(
            "reading the history",
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT ?",
            *params,
            limit,
        )
        return [self._record(row) for row in rows]

    async def get(self, request_id: int) -> RequestRecord | None:
        rows = await self._rows(f"reading request #{request_id}", f"{_SELECT} WHERE id = ?", request_id)
        return self._record(rows[0]) if rows else None

    async def rows_after(self, after_id: int, limit: int) -> list[RequestRecord]:
        """Rows in id order from after `after_id`: how `db copy` reads a database."""
        rows = await self._rows(
            "reading requests", f"{_SELECT} WHERE id > ? ORDER BY id LIMIT ?", after_id, limit
        )
        return [self._record(row) for row in rows]

    async def counts(self) -> dict[str, int]:
        """Rows per status, and the live instances (`db check`)."""
        rows = await self._rows(
            "counting requests", "SELECT status, COUNT(*) AS n FROM requests GROUP BY status"
        )
        counts = {r["status"]: r["n"] for r in rows}
        counts["live instances"] = await self._value(
            "counting processes", "SELECT COUNT(*) AS n FROM instances WHERE lease_until > {clock}"
        )
        return counts

    def _record(self, row: Mapping[str, Any]) -> RequestRecord:
        values = dict(row)
        values["options"] = json.loads(values["options"])
        values["created_at"] = self._d.iso(values["created_at"])
        values["finished_at"] = self._d.iso(values["finished_at"])
        return RequestRecord(**values)

    # -- copying --------------------------------------------------------------------
    async def copy_in(self, records: list[RequestRecord], source_id: str) -> int:
        """Insert rows copied from the database `source_id`, skipping any copied before;
        returns how many were new."""
        d = self._d

        async def insert(tx: Transaction) -> int:
            added = 0
            for r in records:
                added += await self._exec(
                    tx,
                    f"INSERT INTO requests ({_COLUMNS}) VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, {json}, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (origin) WHERE origin IS NOT NULL DO NOTHING",
                    d.timestamp(r.created_at), d.timestamp(r.finished_at), r.guild_id, r.channel_id,
                    r.user_id, r.user_name, r.command, json.dumps(r.options), r.status, r.result,
                    r.error, r.duration_ms, r.model_version, r.instance_id, origin_of(r, source_id),
                )  # fmt: skip
            return added

        return await self._run("copying requests in", insert)

    # -- servers' settings ----------------------------------------------------------
    async def guild_setting(self, guild_id: int) -> GuildSetting:
        """What the server chose (the defaults if it chose nothing)."""
        rows = await self._rows("reading a server's settings", f"{_SETTINGS} WHERE guild_id = ?", guild_id)
        return self._setting(rows[0]) if rows else GuildSetting(guild_id)

    async def set_profanity_allowed(self, guild_id: int, allowed: bool, user_id: int) -> None:
        await self._set_guild(guild_id, "profanity", allowed, user_id)

    async def set_soundfont(self, guild_id: int, soundfont: str | None, user_id: int) -> None:
        await self._set_guild(guild_id, "soundfont", soundfont, user_id)

    async def _set_guild(self, guild_id: int, column: str, value: Any, user_id: int) -> None:
        """One column of a server's settings, the others kept (or defaulted for a new server)."""

        async def store(tx: Transaction) -> None:
            await self._exec(
                tx,
                f"INSERT INTO guild_settings (guild_id, {column}, changed_by, changed_at)"
                " VALUES (?, ?, ?, {stamp}) ON CONFLICT (guild_id) DO UPDATE"
                f" SET {column} = excluded.{column}, changed_by = excluded.changed_by,"
                " changed_at = excluded.changed_at",
                guild_id,
                value,
                user_id,
            )

        await self._run("storing a server's settings", store)

    async def guild_settings(self) -> list[GuildSetting]:
        """Every server's settings (`db copy`)."""
        rows = await self._rows("reading servers' settings", f"{_SETTINGS} ORDER BY guild_id")
        return [self._setting(r) for r in rows]

    def _setting(self, row: Mapping[str, Any]) -> GuildSetting:
        return GuildSetting(
            row["guild_id"],
            bool(row["profanity"]),
            row["changed_by"],
            self._d.iso(row["changed_at"]),
            row["soundfont"],
        )

    async def copy_guild_settings(self, settings: list[GuildSetting]) -> int:
        """Insert servers' settings the target does not have yet; returns how many."""

        async def insert(tx: Transaction) -> int:
            added = 0
            for g in settings:
                added += await self._exec(
                    tx,
                    "INSERT INTO guild_settings (guild_id, profanity, changed_by, changed_at, soundfont)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO NOTHING",
                    g.guild_id,
                    g.profanity,
                    g.changed_by,
                    self._d.timestamp(g.changed_at),
                    g.soundfont,
                )
            return added

        return await self._run("copying servers' settings", insert)
