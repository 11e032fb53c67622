"""The request history, one `Storage` (the SQL of `bot.storage.sql`) over either backend:
SQLite, the embedded default (one process per file), or PostgreSQL, which every process of
a sharded bot shares."""

from __future__ import annotations

from pathlib import Path

from bot.storage.base import (
    GuildSetting,
    HoldRefused,
    Instance,
    LeaseRenewal,
    RequestRecord,
    ShardClaim,
    StorageError,
    migrations,
)
from bot.storage.sql import SqlStorage as Storage
from bot.storage.url import DatabaseUrl

__all__ = [
    "DatabaseUrl",
    "GuildSetting",
    "HoldRefused",
    "Instance",
    "LeaseRenewal",
    "RequestRecord",
    "ShardClaim",
    "Storage",
    "StorageError",
    "migrations",
    "open_storage",
]


async def open_storage(
    url: str | Path, instance: Instance | None, *, migrate: bool = True, create: bool = True
) -> Storage:
    """The backend DATABASE_URL names, migrated; registered as `instance` (None: opened for
    maintenance, with no lease, no holds and no shard claim). `create=False`: a database
    that holds no history yet is an error, not made."""
    parsed = DatabaseUrl.parse(url)
    if parsed.backend == "postgresql":
        from bot.storage.postgres import open_postgres  # asyncpg only where it is used

        opener = open_postgres
    else:
        from bot.storage.sqlite import open_sqlite

        opener = open_sqlite
    return await opener(parsed.target, parsed.shown, instance, migrate=migrate, create=create)
