"""What a request is, whichever transport it came by: who asked, the options of each
command, the replies, and the errors whose text is for the user."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ml.errors import BalladeerError
from ml.music.prime import PrimePiece

Kind = str  # the model a request runs on ("lyrics", "music-folk", ...); a kind batches together
Command = Literal["lyrics", "midi", "continue"]


class ServiceError(BalladeerError):
    """A request the bot will not take or could not finish; the text is for the user."""


class InvalidOption(ServiceError):
    pass


class ArtistChoice(InvalidOption):
    """A name that fits several artists: the user picks one of `candidates`."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class Busy(ServiceError):
    """Queue full or cooling down; `retry_after` says when to try again, `reason` which
    limit it was (cooldown, user_cap, queue_full)."""

    def __init__(self, message: str, retry_after: float, reason: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason


class GenerationFailed(ServiceError):
    pass


class ShuttingDown(ServiceError):
    pass


class Unavailable(ServiceError):
    """The history database cannot be reached in the time an acknowledgement may take."""


class DeliveryFailed(ServiceError):
    """The reply was made but could not be delivered; the request is stored as undelivered."""


@dataclass(frozen=True)
class Requester:
    user_id: int
    user_name: str
    guild_id: int | None = None  # None in direct messages
    channel_id: int | None = None
    profanity_allowed: bool = False  # an age-restricted channel, or a server that allows it


@dataclass(frozen=True)
class LyricsOptions:
    artist: str | None = None
    start: str = ""
    temperature: float | None = None
    length: int | None = None
    seed: int | None = None
    style: float | None = None  # guidance strength; only matters with an artist
    artist_note: str | None = None  # how `artist` was read, when not as typed: "for “Kanye”"

    command = "lyrics"

    def for_history(self) -> dict[str, Any]:
        return asdict(self)


AUTO_STYLE = "auto"  # /continue: the style the piece reads as


@dataclass(frozen=True)
class MidiOptions:
    seconds: int | None = None
    temperature: float | None = None
    seed: int | None = None
    style: str | None = None
    meter: str | None = None  # "auto" (as the notes go), "4/4", "3/4" or "6/8"
    soundfont: str | None = None  # the server's choice for the audio preview (None: the default)

    command = "midi"

    def for_history(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContinueOptions:
    """/continue: the file is named (and its size declared) when the request is admitted;
    it is downloaded and read only once the caps let the request in, then `prime` is set."""

    filename: str
    size: int  # bytes, as declared before the download
    seconds: int | None = None
    temperature: float | None = None
    seed: int | None = None
    style: str | None = None  # a style, or AUTO_STYLE (the default); a style once the file is read
    style_reason: str | None = None  # why auto chose it: "reads as chorale: 4.1 nats/beat vs ..."
    prime: PrimePiece | None = field(default=None, repr=False)  # the file's opening, as read
    soundfont: str | None = None  # the server's choice for the audio preview (None: the default)

    command = "continue"

    def for_history(self) -> dict[str, Any]:
        """What history stores: the file's name, never its music."""
        return {
            "seconds": self.seconds,
            "temperature": self.temperature,
            "seed": self.seed,
            "style": self.style,
            "file": self.filename,
            "soundfont": self.soundfont,
        }


Options = LyricsOptions | MidiOptions | ContinueOptions


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes


@dataclass(frozen=True)
class LyricsReply:
    request_id: int
    text: str
    artist: str | None
    options: LyricsOptions  # as run: every field filled in, seed included
    ended: bool
    unknown_chars: list[str]
    lines_cut: int = 0  # lines left out for a slur
    words_masked: int = 0  # profane words masked for this channel

    def summary(self, max_chars: int) -> str:
        """What history keeps of it: the start of the text."""
        return self.text[:max_chars]


@dataclass(frozen=True)
class MidiReply:
    request_id: int
    options: MidiOptions | ContinueOptions  # as run
    notes: int
    attachments: list[Attachment]
    meter: str = "4/4"  # the time signature the new music is barred in
    seconds: float = 0.0  # how long the new music really lasts (a phrase plan ends it at a phrase end)

    def summary(self, max_chars: int) -> str:
        """What history keeps of it: the attachments' names and sizes."""
        return ", ".join(f"{a.filename} ({len(a.data):,} bytes)" for a in self.attachments)[:max_chars]


Reply = LyricsReply | MidiReply


class DownloadFailed(ServiceError):
    """A user's attachment could not be fetched (gone, too slow, larger than it said)."""
