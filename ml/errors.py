"""Typed errors for user mistakes; the CLI and the bot turn them into plain messages."""

from __future__ import annotations

import difflib


class BalladeerError(Exception):
    """A problem the user can fix (bad input, missing file); never a bug."""


class DataError(BalladeerError):
    """Training or evaluation data cannot be read or is unusable."""


class CheckpointError(BalladeerError):
    """A checkpoint file is missing, corrupt or of the wrong kind."""


ECHO_CHARS = 60  # user text quoted back in a message is cut to this, so replies stay short


class UnknownArtistError(BalladeerError):
    """An artist name the data or model does not know; carries close matches."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        shown = name if len(name) <= ECHO_CHARS else name[: ECHO_CHARS - 1] + "…"
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown artist {shown!r}.{hint}")


def close_matches(name: str, candidates: list[str], limit: int = 5) -> list[str]:
    """Candidates that look like `name`: substring hits first, then fuzzy ones."""
    lowered = name.casefold()
    by_key = {c.casefold(): c for c in candidates}
    substring = [c for key, c in by_key.items() if lowered and lowered in key]
    fuzzy = difflib.get_close_matches(lowered, list(by_key), n=limit, cutoff=0.6)
    matches = substring + [by_key[key] for key in fuzzy if by_key[key] not in substring]
    return matches[:limit]
