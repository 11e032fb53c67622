"""`python -m bot db`: copy a history between databases (SQLite → PostgreSQL, or several
shard files into one) and check one, without a bot running on the target."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.storage import DatabaseUrl, StorageError, migrations, open_storage

log = logging.getLogger(__name__)

COPY_BATCH = 500


@dataclass(frozen=True)
class CopyCount:
    copied: int
    already_there: int
    server_settings: int = 0  # servers' /settings copied (a server the target knows keeps its own)


async def copy_history(
    source_url: str, target_url: str, progress: Callable[[int], None] | None = None
) -> CopyCount:
    """Every row of the source into the target, in batches, each batch one transaction,
    each row once: a row copied before (by an earlier or an interrupted run) is recognised
    by its origin and skipped. Ids are the target's own, so several sources merge without
    colliding. The source is checked whole before the target is opened: a damaged source
    is one StorageError and the target is not touched."""
    _refuse_one_file(DatabaseUrl.parse(source_url), DatabaseUrl.parse(target_url))
    source = await open_storage(source_url, None, create=False)
    try:
        await source.verify()
        target = await open_storage(target_url, None)
    except BaseException:
        await source.close()
        raise
    try:
        source_id = await source.database_id()
        if source_id == await target.database_id():
            raise StorageError("SOURCE_URL and TARGET_URL are the same database")
        copied = seen = last_id = 0
        while rows := await source.rows_after(last_id, COPY_BATCH):
            copied += await target.copy_in(rows, source_id)
            seen += len(rows)
            last_id = rows[-1].id
            if progress is not None:
                progress(seen)
        settings = await target.copy_guild_settings(await source.guild_settings())
        return CopyCount(copied, seen - copied, settings)
    finally:
        await target.close()
        await source.close()


def _refuse_one_file(source: DatabaseUrl, target: DatabaseUrl) -> None:
    """SOURCE and TARGET naming one SQLite file, however spelled (relative, absolute, through
    a symlink, sqlite:///): copying a file into itself is refused before either is opened."""
    if source.backend != "sqlite" or target.backend != "sqlite":
        return
    a, b = Path(source.target), Path(target.target)
    same = a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    if same:
        raise StorageError(
            f"SOURCE_URL ({source.shown}) and TARGET_URL ({target.shown}) are the same file; "
            "copy into another file or a postgresql:// database."
        )


async def check_history(url: str) -> list[str]:
    """What an operator wants to know before pointing a bot at a database: its backend,
    schema version, rows per status and live processes. Reads only."""
    storage = await open_storage(url, None, migrate=False, create=False)
    try:
        dialect = DatabaseUrl.parse(url).backend
        version, latest = await storage.schema_version(), migrations(dialect)[-1][0]
        lines = [f"{storage.url_shown}: {dialect}, schema version {version} of {latest}"]
        if version == 0:
            return [*lines, "no Balladeer history here yet: the bot creates it at its first start"]
        if version < latest:
            return [*lines, "older than this release: the bot migrates it as it starts, losing nothing"]
        counts = await storage.counts()
        live = counts.pop("live instances")
        total = sum(counts.values())
        detail = ", ".join(f"{status} {n:,}" for status, n in sorted(counts.items()))
        lines.append(f"requests: {total:,}" + (f" ({detail})" if detail else ""))
        lines.append(f"bot processes running on it: {live}")
        return lines
    finally:
        await storage.close()
