"""DATABASE_URL: which backend, where, and how to show it without its password."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from bot.storage.base import StorageError

POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class DatabaseUrl:
    backend: Literal["sqlite", "postgresql"]
    target: str  # the SQLite path (or ":memory:"), or the PostgreSQL DSN as given
    shown: str  # for messages and logs: the password masked

    @classmethod
    def parse(cls, text: str | Path) -> DatabaseUrl:
        """A SQLite path, `sqlite:///relative.db`, `sqlite:////absolute.db`, or
        `postgresql://user:password@host:port/database?options`."""
        text = str(text).strip()
        if not text:
            raise StorageError(
                "DATABASE_URL is empty; give a SQLite file (balladeer.db) or a postgresql:// URL."
            )
        scheme, _, rest = text.partition("://")
        if not rest or "/" in scheme:  # a plain path
            return cls("sqlite", text, text)
        scheme = scheme.lower()
        if scheme == "sqlite":
            path = rest.removeprefix("/")  # sqlite:///a.db → a.db, sqlite:////var/a.db → /var/a.db
            if not path:
                raise StorageError(f"DATABASE_URL={text} names no file; e.g. sqlite:///balladeer.db.")
            return cls("sqlite", path, text)
        if scheme in POSTGRES_SCHEMES:
            return cls("postgresql", text, mask_password(text))
        raise StorageError(
            f"DATABASE_URL={mask_password(text)} has an unknown scheme {scheme!r}; "
            "use a SQLite file path, sqlite:///file.db or postgresql://user:password@host/database."
        )


def mask_password(url: str) -> str:
    """The URL with the password (in the authority or a `password=` option) as ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, colon, _ = credentials.partition(":")
        netloc = f"{user}{':***' if colon else ''}@{host}"
    query = "&".join(
        "password=***" if pair.lower().startswith("password=") else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
