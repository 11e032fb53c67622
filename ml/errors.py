"""Typed errors for user mistakes; the CLI and the bot turn them into plain messages."""

from __future__ import annotations


class BalladeerError(Exception):
    """A problem the user can fix (bad input, missing file); never a bug."""


class DataError(BalladeerError):
    """Training or evaluation data cannot be read or is unusable."""


class CheckpointError(BalladeerError):
    """A checkpoint file is missing, corrupt or of the wrong kind."""


ECHO_CHARS = 60  # user text quoted back in a message is cut to this, so replies stay short
ELLIPSIS = "…"


def shorten(text: str, max_chars: int = ECHO_CHARS) -> str:
    """`text` cut to `max_chars` characters, the cut marked with an ellipsis."""
    return text if len(text) <= max_chars else text[: max_chars - len(ELLIPSIS)] + ELLIPSIS


class UnknownArtistError(BalladeerError):
    """An artist name the data or model does not know; carries close matches."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown artist {shorten(name)!r}.{hint}")
