"""What differs between SQLite and PostgreSQL in the statements of `bot.storage.sql`:
placeholders, the clock, JSON, row locks and how timestamps travel. Nothing else does.

Statements are written once with `?` placeholders and these tokens:
`{clock}` the time as the lease columns store it, `{lease_end}` that plus `?` seconds,
`{epoch}` Unix seconds (cooldowns), `{stamp}` the time as request rows store it,
`{json}` a JSON parameter, `{for_update}` a row lock where the backend has them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

_PLACEHOLDER = re.compile(r"\?")


@dataclass(frozen=True)
class Dialect:
    name: Literal["sqlite", "postgresql"]
    clock: str
    lease_end: str
    epoch: str
    stamp: str
    json: str
    for_update: str
    numbered: bool  # $1, $2 … instead of ?
    native_timestamps: bool  # timestamps travel as datetime, not ISO text

    @functools.lru_cache(maxsize=256)  # noqa: B019 (dialects are two module constants)
    def sql(self, statement: str) -> str:
        """The statement in this dialect."""
        text = statement.format(
            clock=self.clock,
            lease_end=self.lease_end,
            epoch=self.epoch,
            stamp=self.stamp,
            json=self.json,
            for_update=self.for_update,
        )
        if not self.numbered:
            return text
        counter = iter(range(1, 1000))
        return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", text)

    def timestamp(self, iso: str | None) -> Any:
        """An ISO 8601 text as a parameter for a timestamp column."""
        if iso is None or not self.native_timestamps:
            return iso
        return datetime.fromisoformat(iso)

    def iso(self, value: Any) -> str | None:
        """A timestamp column's value as ISO 8601 text, UTC, to the second."""
        if value is None or not self.native_timestamps:
            return value
        return value.astimezone(UTC).isoformat(timespec="seconds")


_SQLITE_CLOCK = "((julianday('now') - 2440587.5) * 86400.0)"

SQLITE = Dialect(
    name="sqlite",
    clock=_SQLITE_CLOCK,
    lease_end=f"({_SQLITE_CLOCK} + ?)",
    epoch=_SQLITE_CLOCK,
    stamp="strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')",
    json="?",
    for_update="",  # BEGIN IMMEDIATE already holds the whole file
    numbered=False,
    native_timestamps=False,
)

POSTGRESQL = Dialect(
    name="postgresql",
    clock="clock_timestamp()",
    lease_end="(clock_timestamp() + ? * interval '1 second')",
    epoch="extract(epoch FROM clock_timestamp())::float8",
    stamp="now()",
    json="?::jsonb",
    for_update="FOR UPDATE",
    numbered=True,
    native_timestamps=True,
)
