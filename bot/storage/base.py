"""What every history backend provides, and the records and limits they share.

Rows belong to the instance (one bot process) that took them. An instance holds a lease
that it renews while it runs; an instance whose lease ran out is dead, and only dead
instances' open rows are ever marked interrupted. A user's places in line are *holds* in
the database, so the per-user cap and the cooldown hold across every process sharing it.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from ml.errors import BalladeerError

OPEN_STATUSES = ("queued", "running")
FINAL_STATUSES = ("done", "undelivered", "failed", "interrupted")
INTERRUPTED_BY_STOP = "the bot stopped before it finished"

_MIGRATION_NAME = re.compile(r"V(\d+)__\w+\.sql")


class StorageError(BalladeerError):
    """The database cannot be used, or is held by another instance; names the setting."""


@dataclass(frozen=True)
class RequestRecord:
    id: int
    created_at: str  # ISO 8601, UTC, to the second
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
    instance_id: str | None = None
    origin: str | None = None  # "<database id>:<row id>" of the row it was copied from


@dataclass(frozen=True)
class GuildSetting:
    """What a server's admins chose with /settings."""

    guild_id: int
    profanity: bool = False  # shown unmasked in every channel
    changed_by: int | None = None
    changed_at: str | None = None  # ISO 8601, UTC
    soundfont: str | None = None  # the audio previews' SoundFont, by name (None: the default)


@dataclass(frozen=True)
class ShardClaim:
    """The shards a gateway process serves: `ids`, or every shard when None.

    Two live processes may not claim a shard in common on one database."""

    ids: frozenset[int] | None = None

    def describe(self) -> str:
        return "all shards" if self.ids is None else "shard " + ", ".join(map(str, sorted(self.ids)))

    def encode(self) -> str:
        return "all" if self.ids is None else ",".join(map(str, sorted(self.ids)))

    @classmethod
    def decode(cls, text: str) -> ShardClaim | None:
        if text == "none":
            return None
        return cls(None if text == "all" else frozenset(int(i) for i in text.split(",") if i))

    def overlaps(self, other: ShardClaim) -> bool:
        return self.ids is None or other.ids is None or bool(self.ids & other.ids)


@dataclass(frozen=True)
class Instance:
    """One process using the database: its id, and its shards (None: the console, which
    serves none and so conflicts with nobody)."""

    id: str
    shards: ShardClaim | None
    lease_seconds: float = 30.0

    @classmethod
    def new(cls, shards: ShardClaim | None, lease_seconds: float = 30.0) -> Instance:
        """An id an operator can trace to a machine and process, unique across restarts."""
        return cls(f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}", shards, lease_seconds)

    def encoded_shards(self) -> str:
        return "none" if self.shards is None else self.shards.encode()


@dataclass(frozen=True)
class LeaseRenewal:
    """What renewing a lease found: whether it had run out (this process was registered
    again), and how many open rows of dead instances it marked interrupted."""

    lapsed: bool
    interrupted: int


@dataclass(frozen=True)
class HoldRefused:
    """Why the database would not give a user another place in line."""

    reason: Literal["cooldown", "user_cap"]
    open_requests: int
    cooldown_left: float


def migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL) of every bundled migration of a dialect, in order."""
    found = []
    for entry in resources.files("bot.storage").joinpath("migrations", dialect).iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def origin_of(record: RequestRecord, source_id: str) -> str:
    """A copied row keeps the origin it already had, so chained copies stay idempotent."""
    return record.origin or f"{source_id}:{record.id}"


def hold_refusal(
    now: float, accepted_at: float | None, open_requests: int, max_open: int, cooldown_seconds: float
) -> HoldRefused | None:
    """The rule applied inside the transaction that takes a hold."""
    cooldown_left = 0.0 if accepted_at is None else accepted_at + cooldown_seconds - now
    if cooldown_left > 0:
        return HoldRefused("cooldown", open_requests, cooldown_left)
    if open_requests >= max_open:
        return HoldRefused("user_cap", open_requests, 0.0)
    return None
