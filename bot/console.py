"""A terminal REPL over the same service the Discord bot uses: same rules, same history.

> /lyrics artist:"Bob Marley" start:"Why" temperature:0.9
> /midi seconds:20
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.formatting import about_text, history_lines, lyrics_header, prime_reading
from bot.requests import (
    Busy,
    ContinueOptions,
    LyricsOptions,
    LyricsReply,
    MidiOptions,
    MidiReply,
    Options,
    Requester,
)
from bot.service import Exchange, SongService
from ml.errors import BalladeerError

PROMPT = "> "
CONSOLE_CHANNEL_ID = 0
HELP = """Commands (options are name:value; quote values with spaces):
  /lyrics [artist:NAME] [start:TEXT] [temperature:T] [length:N] [seed:S] [style:S]
                                                 write lyrics (style: 0 ignores the artist,
                                                 1 plain, more exaggerates it)
  /midi [style:folk|chorale|piano] [seconds:N] [temperature:T] [seed:S]
                                                 compose music (MIDI, Ogg audio, PNG saved)
  /continue file:PATH.mid [style:auto|folk|chorale|piano] [seconds:N] [temperature:T] [seed:S]
                                                 play on from your MIDI file
  /artists [search:TEXT] [page:N]                the artists the lyrics model knows
  /history [limit:N]                             recent requests in this console
  /queue                                         requests waiting
  /about                                         the loaded models
  /help                                          this text
  /quit                                          leave (Ctrl-D works too)"""


class UsageError(BalladeerError):
    pass


@dataclass(frozen=True)
class Option:
    convert: Callable[[str], Any]
    field: str


COMMAND_OPTIONS: dict[str, dict[str, Option]] = {
    "lyrics": {
        "artist": Option(str, "artist"),
        "start": Option(str, "start"),
        "temperature": Option(float, "temperature"),
        "length": Option(int, "length"),
        "seed": Option(int, "seed"),
        "style": Option(float, "style"),
    },
    "midi": {
        "style": Option(str, "style"),
        "seconds": Option(int, "seconds"),
        "temperature": Option(float, "temperature"),
        "seed": Option(int, "seed"),
    },
    "continue": {
        "file": Option(str, "file"),
        "style": Option(str, "style"),
        "seconds": Option(int, "seconds"),
        "temperature": Option(float, "temperature"),
        "seed": Option(int, "seed"),
    },
    "artists": {"search": Option(str, "search"), "page": Option(int, "page")},
    "history": {"limit": Option(int, "limit")},
}


def parse_command(line: str, max_chars: int) -> tuple[str, dict[str, Any]]:
    """'/lyrics artist:"Bob Marley" temperature:0.9' → ('lyrics', {...}).

    Lines over `max_chars` are refused before parsing (shlex is quadratic on long input).
    """
    if len(line) > max_chars:
        raise UsageError(f"That line is {len(line):,} characters long; the limit is {max_chars:,}.")
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"Cannot read that line ({exc}); check the quotes.") from exc
    if not tokens or not tokens[0].startswith("/"):
        raise UsageError("Commands start with /, e.g. /lyrics or /help.")
    name, values = tokens[0][1:].lower(), {}
    known = COMMAND_OPTIONS.get(name, {})
    for token in tokens[1:]:
        key, sep, raw = token.partition(":")
        if not sep and values:  # a value with a space, unquoted: artist:Bob Dylan
            previous = list(values)[-1]
            raise UsageError(
                f"/{name} has no option {key!r}; to give {previous} a value with spaces, "
                f'quote it: {previous}:"{values[previous]} {token}".'
            )
        if not sep or key not in known:
            names = ", ".join(known) or "none"
            raise UsageError(f"/{name} has no option {key!r} (options: {names}).")
        try:
            values[known[key].field] = known[key].convert(raw)
        except ValueError as exc:
            kind = {int: "a whole number", float: "a number"}.get(known[key].convert, "text")
            raise UsageError(f"{key} must be {kind}, not {raw!r}.") from exc
    return name, values


class Console:
    def __init__(self, service: SongService, output_dir: Path, out: TextIO = sys.stdout) -> None:
        self.service = service
        self.line_max_chars = service.settings.console.line_max_chars
        self.output_dir = output_dir
        self.out = out
        # The console is one local user in one "channel" (id 0): its history is its own.
        user_id = os.getuid() if hasattr(os, "getuid") else 0
        self.requester = Requester(user_id, getpass.getuser(), guild_id=None, channel_id=CONSOLE_CHANNEL_ID)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    async def handle(self, line: str) -> bool:
        """Run one line; False when the user asked to quit."""
        line = line.strip()
        if not line:
            return True
        try:
            name, values = parse_command(line, self.line_max_chars)
            if name in ("quit", "exit"):
                return False
            await self.dispatch(name, values)
        except BalladeerError as exc:
            self.say(f"error: {exc}")
        return True

    async def dispatch(self, name: str, values: dict[str, Any]) -> None:
        if name == "lyrics":
            await self.run(LyricsOptions(**values))
        elif name == "midi":
            await self.run(MidiOptions(**values))
        elif name == "continue":
            if "file" not in values:
                raise UsageError("/continue needs file:PATH, a MIDI file to play on from.")
            path = Path(values.pop("file"))
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise UsageError(f"Cannot read {path}: {exc.strerror}.") from None
            await self.run(ContinueOptions(filename=path.name, size=size, **values), path)
        elif name == "artists":
            page = self.service.artist_page(values.get("search", ""), values.get("page", 1))
            self.say(page.replace("`", ""))
        elif name == "history":
            records = await self.service.history(self.requester, limit=values.get("limit"))
            self.say("\n".join(history_lines(records, markdown=False)) if records else "No requests yet.")
        elif name == "queue":
            status = self.service.queue_status(self.requester.user_id)
            self.say(f"{status['running']} running, {status['waiting']} waiting.")
        elif name == "about":
            self.say(about_text(self.service.about()).replace("**", "").replace("`", ""))
        elif name == "help":
            self.say(HELP)
        else:
            raise UsageError(f"Unknown command /{name}; type /help for the list.")

    async def run(self, options: Options, file: Path | None = None) -> None:
        """Submit, then show the reply. The console's one local user is not held to the
        cooldown (it guards a shared bot against floods); a full queue is waited out."""
        fetch = None if file is None else lambda: asyncio.to_thread(_read_file, file)
        exchange = Exchange(_nothing_to_acknowledge, self.show, fetch, self.in_line)
        while True:
            try:
                await self.service.handle(self.requester, options, exchange, cooldown=False)
                return
            except Busy as exc:  # refused before anything ran: wait, then ask again
                self.say(f"({exc} Waiting…)")
                await asyncio.sleep(exc.retry_after)

    async def in_line(self, position: int) -> None:
        self.say(f"(#{position} in line)")

    async def show(self, reply: LyricsReply | MidiReply) -> None:
        if isinstance(reply, LyricsReply):
            self.say(lyrics_header(reply).replace("**", ""))
            if reply.unknown_chars:
                self.say(
                    f"(the model doesn't know {' '.join(reply.unknown_chars)}; it wrote on without them)"
                )
            self.say()
            self.say(reply.text)
            self.say()
        else:
            self.show_midi(reply)

    def show_midi(self, reply: MidiReply) -> None:
        folder = self.output_dir / f"request-{reply.request_id}"
        folder.mkdir(parents=True, exist_ok=True)
        for attachment in reply.attachments:
            (folder / attachment.filename).write_bytes(attachment.data)
        o = reply.options
        if isinstance(o, ContinueOptions):
            what = f"{o.filename} continued for {o.seconds} s in the {o.style} style"
        else:
            what = f"{o.seconds} s of {o.style} music"
        self.say(f"🎹 {what} · temperature {o.temperature:g} · seed {o.seed} · {reply.notes} notes")
        if isinstance(o, ContinueOptions):
            self.say(f"  {prime_reading(o)}")
        for attachment in reply.attachments:
            self.say(f"  saved {folder / attachment.filename} ({len(attachment.data):,} bytes)")


async def _nothing_to_acknowledge() -> None:
    """A terminal needs no "working on it": the reply follows in the same place."""


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror}.") from None


async def run_console(
    service: SongService, output_dir: Path, commands: list[str], stdin: TextIO = sys.stdin
) -> None:
    """Run `commands` if given, else read lines from stdin until /quit or end of input."""
    console = Console(service, output_dir)
    if commands:
        for line in commands:
            console.say(f"{PROMPT}{line}")
            if not await console.handle(line):
                return
        return
    interactive = stdin.isatty()
    console.say(f"Balladeer console · attachments go to {output_dir.resolve()} · /help lists commands")
    lines = _lines_of(stdin)
    while True:
        if interactive:
            print(PROMPT, end="", flush=True)
        line = await lines.get()
        if not line:  # end of input
            return
        if not interactive:  # echo piped commands so the transcript reads like a session
            console.say(f"{PROMPT}{line.rstrip()}")
        if not await console.handle(line):
            return


def _lines_of(stdin: TextIO) -> asyncio.Queue[str]:
    """Lines of `stdin` as they come ('' at its end), read by a daemon thread: a blocking
    read in the default executor would keep Ctrl-C waiting for Enter."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def put(line: str) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
            loop.call_soon_threadsafe(lines.put_nowait, line)

    def pump() -> None:
        for line in iter(stdin.readline, ""):
            put(line)
        put("")

    threading.Thread(target=pump, name="console-input", daemon=True).start()
    return lines
