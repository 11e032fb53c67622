"""SongService: the bot's rules, independent of Discord.

validate → reserve a place (synchronously, so a burst cannot overrun the caps) → store as
queued → enqueue (fair across users) → a worker that takes every waiting request for the
same model and runs them as one batched ml call in a thread, off the event loop → hand the
reply to the adapter's `send` → store as done only once it was delivered. The Discord cogs
and the console are thin adapters over it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bot.config import Settings
from bot.fair_queue import FairQueue
from bot.storage import RequestRecord, Storage
from ml.errors import BalladeerError, DataError, shorten
from ml.music.generate import PianoGenerator, PianoRequest
from ml.music.render import render_piece
from ml.sampling import new_seed
from ml.text.generate import LyricsGenerator, LyricsRequest

log = logging.getLogger(__name__)

Kind = Literal["lyrics", "midi"]
SEED_LIMIT = 2**31
EXCERPT_CHARS = 200


class ServiceError(BalladeerError):
    """A request the bot will not take or could not finish; the text is for the user."""


class InvalidOption(ServiceError):
    pass


class Busy(ServiceError):
    """Queue full or cooling down; `retry_after` says when to try again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GenerationFailed(ServiceError):
    pass


class ShuttingDown(ServiceError):
    pass


class DeliveryFailed(ServiceError):
    """The reply was made but could not be delivered; the request is stored as undelivered."""


@dataclass(frozen=True)
class Requester:
    user_id: int
    user_name: str
    guild_id: int | None = None  # None in direct messages
    channel_id: int | None = None


@dataclass(frozen=True)
class LyricsOptions:
    artist: str | None = None
    start: str = ""
    temperature: float | None = None
    length: int | None = None
    seed: int | None = None
    style: float | None = None  # guidance strength; only matters with an artist


@dataclass(frozen=True)
class Prime:
    """A user's MIDI file read onto the piano model's grid: the music /continue continues."""

    filename: str
    roll: np.ndarray = field(repr=False)  # (frames, 88) bool


@dataclass(frozen=True)
class MidiOptions:
    seconds: int | None = None
    temperature: float | None = None
    seed: int | None = None
    prime: Prime | None = None  # set for /continue

    @property
    def command(self) -> str:
        return "continue" if self.prime is not None else "midi"

    def for_history(self) -> dict[str, Any]:
        """What history stores: the file's name, never its music."""
        shown = {"seconds": self.seconds, "temperature": self.temperature, "seed": self.seed}
        return shown | ({"file": self.prime.filename} if self.prime else {})


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


@dataclass(frozen=True)
class MidiReply:
    request_id: int
    options: MidiOptions  # as run
    notes: int
    attachments: list[Attachment]


Reply = LyricsReply | MidiReply


@dataclass(eq=False)
class Job:
    request_id: int
    requester: Requester
    kind: Kind
    options: LyricsOptions | MidiOptions
    future: asyncio.Future = field(repr=False)
    accepted_at: float = 0.0

    @property
    def user_id(self) -> int:
        return self.requester.user_id


@dataclass(eq=False)
class Reservation:
    """A place in line taken by `SongService.reserve`, not yet stored or queued."""

    requester: Requester
    options: LyricsOptions | MidiOptions  # as they will run
    previous_accept: float | None  # the user's cooldown before this, restored on release
    released: bool = False


@dataclass(frozen=True)
class Ticket:
    """An accepted request: its id, its place in line (0 = runs now), and its reply."""

    request_id: int
    position: int
    job: Job = field(repr=False)

    async def reply(self) -> Reply:
        """The reply once generated; adapters hand it over through `SongService.deliver`."""
        return await self.job.future


def model_version(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{path.name}@{digest}"


class SongService:
    def __init__(
        self, settings: Settings, storage: Storage, lyrics: LyricsGenerator, piano: PianoGenerator
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.lyrics = lyrics
        self.piano = piano
        self.versions = {
            "lyrics": model_version(Path(settings.lyrics_checkpoint)),
            "midi": model_version(Path(settings.piano_checkpoint)),
        }
        self.started_at = time.monotonic()
        self._queue: FairQueue[Job] = FairQueue()
        self._running: list[Job] = []
        self._reserved: Counter[int] = Counter()  # accepted, row being written, not queued yet
        self._last_accepted: dict[int, float] = {}
        self._wakeup = asyncio.Event()
        # One worker runs one batch at a time, so one thread is all it can use.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="generate")
        self._delivering: dict[int, asyncio.Future] = {}  # request id → settles when delivered
        self._worker: asyncio.Task | None = None
        self._closing = False
        self._closed = False
        self._served = Counter()
        self._batches = 0
        self._seconds_per_job = 2.0  # running estimate for "try again in N s"

    @classmethod
    async def start(cls, settings: Settings) -> SongService:
        """Open the database (first: it fails fast), load both models in threads, start the worker."""
        storage = await Storage.open(settings.database_path)
        try:
            lyrics, piano = await asyncio.gather(
                asyncio.to_thread(LyricsGenerator.from_checkpoint, settings.lyrics_checkpoint),
                asyncio.to_thread(PianoGenerator.from_checkpoint, settings.piano_checkpoint),
            )
        except BaseException:
            await storage.close()
            raise
        interrupted = await storage.mark_interrupted()
        if interrupted:
            log.warning("marked %d requests left open by the last run as interrupted", interrupted)
        service = cls(settings, storage, lyrics, piano)
        service.run_worker()
        return service

    def run_worker(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="generation-worker")

    # -- accepting requests ---------------------------------------------------------
    def resolve_lyrics(self, options: LyricsOptions) -> LyricsOptions:
        """Options with defaults filled in, checked against the bounds; raises InvalidOption."""
        s = self.settings
        temperature = s.lyrics_temperature_default if options.temperature is None else options.temperature
        length = s.lyrics_length_default if options.length is None else options.length
        _check_range("temperature", temperature, s.temperature_min, s.temperature_max)
        _check_range("length", length, s.lyrics_length_min, s.lyrics_length_max)
        start = _check_text("start", options.start or "", s.lyrics_start_max_chars)
        typed_artist = _check_text("artist", options.artist or "", s.artist_max_chars) or None
        artist, _ = self.lyrics.resolve_artist(typed_artist)  # UnknownArtistError lists matches
        style = s.lyrics_style_default if options.style is None else options.style
        _check_range("style", style, s.lyrics_style_min, s.lyrics_style_max)
        if artist is None:
            style = 1.0  # without an artist there is no style to strengthen
        return LyricsOptions(artist, start, temperature, length, _seed(options.seed), style)

    def resolve_midi(self, options: MidiOptions) -> MidiOptions:
        s = self.settings
        seconds = s.midi_seconds_default if options.seconds is None else options.seconds
        temperature = s.midi_temperature_default if options.temperature is None else options.temperature
        _check_range("seconds", seconds, s.midi_seconds_min, s.midi_seconds_max)
        _check_range("temperature", temperature, s.temperature_min, s.temperature_max)
        if options.prime is not None and not isinstance(options.prime, Prime):
            raise InvalidOption("The file to continue must be read with read_prime first.")
        return MidiOptions(seconds, temperature, _seed(options.seed), options.prime)

    def check_prime_size(self, filename: str, size: int) -> None:
        """Refuse a file too large to continue; adapters call it before they fetch the file."""
        limit = self.settings.continue_max_bytes
        if size > limit:
            raise InvalidOption(f"{shorten(filename)} is {size:,} bytes; the limit is {limit:,}.")

    async def read_prime(self, filename: str, data: bytes) -> Prime:
        """A MIDI file a user wants continued, checked and read (in a thread: parsing a large
        file would hold up the event loop); InvalidOption says what is wrong with it."""
        self.check_prime_size(filename, len(data))
        shown = shorten(filename)
        if not data:
            raise InvalidOption(f"{shown} is empty.")
        bars = self.settings.continue_prime_bars
        try:
            roll = await asyncio.to_thread(self.piano.prime_from_midi, data, bars)
        except DataError:
            raise InvalidOption(f"{shown} is not a MIDI file I can read (.mid / .midi).") from None
        except BalladeerError:  # no pitched notes
            raise InvalidOption(f"{shown} has no notes to continue (it is empty, or drums only).") from None
        return Prime(filename, roll)

    def check(
        self, requester: Requester, options: LyricsOptions | MidiOptions
    ) -> LyricsOptions | MidiOptions:
        """Everything that can refuse a request, without side effects: options as they will run."""
        if self._closing:
            raise ShuttingDown("The bot is shutting down; try again in a minute.")
        resolved = (
            self.resolve_lyrics(options) if isinstance(options, LyricsOptions) else self.resolve_midi(options)
        )
        self._check_capacity(requester.user_id)
        return resolved

    def reserve(self, requester: Requester, options: LyricsOptions | MidiOptions) -> Reservation:
        """Validate, check the caps and take a place in line, all before any await.

        Requests arriving later in the same burst see the place taken, so no burst can
        overrun a cap or the cooldown. Adapters reserve before acknowledging, so a refusal
        is a private reply; the place is kept until `enter` or `release`.
        """
        resolved = self.check(requester, options)
        user_id = requester.user_id
        reservation = Reservation(requester, resolved, self._last_accepted.get(user_id))
        self._last_accepted[user_id] = time.monotonic()
        self._reserved[user_id] += 1
        return reservation

    def release(self, reservation: Reservation, *, taken: bool = False) -> None:
        """Give a reserved place back; unless it was `taken` into the queue, undo its cooldown."""
        if reservation.released:
            return
        reservation.released = True
        user_id = reservation.requester.user_id
        self._reserved[user_id] -= 1
        if not self._reserved[user_id]:
            del self._reserved[user_id]
        if not taken:
            if reservation.previous_accept is None:
                self._last_accepted.pop(user_id, None)
            else:
                self._last_accepted[user_id] = reservation.previous_accept

    async def enter(self, reservation: Reservation) -> Ticket:
        """Store a reserved request as queued and put it in line."""
        requester, options = reservation.requester, reservation.options
        kind: Kind = "lyrics" if isinstance(options, LyricsOptions) else "midi"
        command = options.command if isinstance(options, MidiOptions) else kind
        shown = options.for_history() if isinstance(options, MidiOptions) else asdict(options)
        try:
            request_id = await self.storage.insert_request(
                guild_id=requester.guild_id,
                channel_id=requester.channel_id,
                user_id=requester.user_id,
                user_name=requester.user_name,
                command=command,
                options=shown,
                model_version=self.versions[kind],
            )
        except BaseException:
            self.release(reservation)
            raise
        self.release(reservation, taken=True)
        now = time.monotonic()
        job = Job(request_id, requester, kind, options, asyncio.get_running_loop().create_future(), now)
        self._queue.push(job)
        position = 0 if not self._running and len(self._queue) == 1 else self._queue.position(job)
        self._wakeup.set()
        return Ticket(request_id, position, job)

    async def submit(self, requester: Requester, options: LyricsOptions | MidiOptions) -> Ticket:
        """Reserve and enter in one step, for callers with nothing to do in between."""
        return await self.enter(self.reserve(requester, options))

    def _check_capacity(self, user_id: int) -> None:
        s = self.settings
        since = time.monotonic() - self._last_accepted.get(user_id, -math.inf)
        if since < s.cooldown_seconds:
            wait = s.cooldown_seconds - since
            raise Busy(f"Slow down a little: you can ask again in {math.ceil(wait)} s.", wait)
        mine = (
            self._queue.count_for(user_id)
            + self._reserved[user_id]
            + sum(j.user_id == user_id for j in self._running)
        )
        if mine >= s.queue_max_per_user:
            wait = self._estimated_wait(mine)
            raise Busy(
                f"You already have {mine} requests in line (the limit is {s.queue_max_per_user}); "
                f"try again in {math.ceil(wait)} s.",
                wait,
            )
        waiting = len(self._queue) + self._reserved.total()
        if waiting >= s.queue_max:
            wait = self._estimated_wait(waiting)
            raise Busy(f"I'm busy right now; try again in {math.ceil(wait)} s.", wait)

    def _estimated_wait(self, jobs_ahead: int) -> float:
        batches = math.ceil(max(jobs_ahead, 1) / self.settings.batch_max)
        return max(batches * self._seconds_per_job * min(jobs_ahead, self.settings.batch_max), 1.0)

    # -- the worker -----------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            await self._wakeup.wait()
            batch = self._queue.take(self.settings.batch_max)
            if not batch:
                self._wakeup.clear()
                continue
            self._running = batch
            try:
                await self._run(batch)
            finally:
                self._running = []

    async def _run(self, batch: list[Job]) -> None:
        await self.storage.mark_running([j.request_id for j in batch])
        started = time.monotonic()
        runner = self._generate_lyrics if batch[0].kind == "lyrics" else self._generate_midi
        try:
            replies = await asyncio.get_running_loop().run_in_executor(self._executor, runner, batch)
        except Exception as exc:
            log.exception("generation failed for requests %s", [j.request_id for j in batch])
            message = f"Generation failed ({type(exc).__name__}); please try again."
            for job in batch:
                await self.storage.finish(job.request_id, "failed", error=f"{type(exc).__name__}: {exc}")
                _settle(job.future, exception=GenerationFailed(message))
            return
        elapsed = time.monotonic() - started
        self._seconds_per_job = 0.8 * self._seconds_per_job + 0.2 * elapsed / len(batch)
        self._batches += 1
        for job, reply in zip(batch, replies, strict=True):
            _settle(job.future, result=reply)  # the row stays running until `deliver` closes it

    def _generate_lyrics(self, batch: list[Job]) -> list[LyricsReply]:
        requests = [
            LyricsRequest(o.artist, o.start, o.temperature, o.length, o.seed, style=o.style)
            for o in (j.options for j in batch)
        ]
        samples = self.lyrics.generate(requests)
        return [
            LyricsReply(j.request_id, s.text, s.artist, j.options, s.ended, s.unknown_chars)
            for j, s in zip(batch, samples, strict=True)
        ]

    def _generate_midi(self, batch: list[Job]) -> list[MidiReply]:
        cap = self.settings.midi_max_notes
        requests = [
            PianoRequest(
                seconds=o.seconds,
                temperature=o.temperature,
                seed=o.seed,
                prime=o.prime.roll if o.prime else None,
                max_notes=cap,
            )
            for o in (j.options for j in batch)
        ]
        replies = []
        for job, piece in zip(batch, self.piano.generate(requests), strict=True):
            rendered = render_piece(piece)
            attachments = [
                Attachment("song.mid", rendered.midi),
                Attachment("song.wav", rendered.wav),
                Attachment("piano-roll.png", rendered.png),
            ]
            replies.append(MidiReply(job.request_id, job.options, rendered.notes, attachments))
        return replies

    # -- delivering -----------------------------------------------------------------
    async def deliver(self, ticket: Ticket, send: Callable[[Reply], Awaitable[None]]) -> Reply:
        """Wait for the reply, hand it to `send`, and store what happened.

        The row is `done` only once `send` returned (the user has it); if `send` fails or
        takes longer than DELIVERY_TIMEOUT_SECONDS it is `undelivered` with the reason, and
        DeliveryFailed tells the adapter what to say.
        """
        reply = await ticket.reply()
        job = ticket.job
        finished = asyncio.get_running_loop().create_future()
        self._delivering[job.request_id] = finished  # shutdown waits for these
        try:
            reason = await self._send(reply, send)
            await self._close_row(job, "undelivered" if reason else "done", reply, error=reason)
        finally:
            del self._delivering[job.request_id]
            finished.set_result(None)
        if reason:
            raise DeliveryFailed(
                f"Your {job.kind} (request #{job.request_id}) was made but could not be delivered "
                f"({reason}); it is in /history. Please try again."
            )
        self._served[job.kind] += 1
        return reply

    async def _send(self, reply: Reply, send: Callable[[Reply], Awaitable[None]]) -> str | None:
        """Run `send` within the delivery time limit; why it failed, or None."""
        limit = self.settings.delivery_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                await send(reply)
        except TimeoutError:
            return f"the reply was not accepted within {limit:g} s"
        except Exception as exc:
            log.warning("request %d was not delivered: %s", reply.request_id, exc)
            return shorten(f"{type(exc).__name__}: {exc}", EXCERPT_CHARS)
        return None

    async def _close_row(self, job: Job, status: str, reply: Reply, error: str | None = None) -> None:
        if self._closed:  # shut down mid-delivery: the row was marked interrupted
            return
        await self.storage.finish(
            job.request_id,
            status,
            result=_summary(reply),
            error=error,
            duration_ms=round((time.monotonic() - job.accepted_at) * 1000),
        )

    # -- what the commands show -----------------------------------------------------
    def artist_song_counts(self) -> dict[str, int]:
        return self.lyrics.song_counts

    def suggest_artists(self, typed: str) -> list[str]:
        """Artists ranked for autocomplete (the Discord edge keeps as many as it may show)."""
        return self.lyrics.artist_table.ranked(typed[: self.settings.artist_max_chars])

    def queue_status(self, user_id: int) -> dict[str, Any]:
        order = self._queue.order()
        return {
            "waiting": len(order),
            "running": len(self._running),
            "your_positions": [i for i, j in enumerate(order, start=1) if j.user_id == user_id],
            "your_running": sum(j.user_id == user_id for j in self._running),
        }

    def occupancy(self) -> tuple[int, int]:
        """(places taken in line, most taken by one user): what the caps bound, reserved included."""
        per_user = Counter(j.user_id for j in self._queue.order()) + self._reserved
        per_user.update(j.user_id for j in self._running)
        return len(self._queue) + self._reserved.total(), max(per_user.values(), default=0)

    def about(self) -> dict[str, Any]:
        def describe(generator: LyricsGenerator | PianoGenerator, data: dict[str, Any]) -> dict[str, Any]:
            checkpoint = generator.checkpoint
            return {
                "parameters": checkpoint.parameter_count(),
                "config": checkpoint.model_config,
                "data": data,
                "metrics": checkpoint.metrics,
            }

        lyrics_data = self.lyrics.meta.data
        piano_data = self.piano.checkpoint.meta.get("data", {})
        return {
            "lyrics": {
                **describe(self.lyrics, {"songs": lyrics_data.songs, "artists": lyrics_data.artists}),
                "version": self.versions["lyrics"],
            },
            "midi": {**describe(self.piano, piano_data), "version": self.versions["midi"]},
            "uptime_s": time.monotonic() - self.started_at,
            "served": dict(self._served),
            "batches": self._batches,
            "waiting": len(self._queue),
        }

    async def history(
        self, requester: Requester, user_id: int | None = None, limit: int | None = None
    ) -> list[RequestRecord]:
        """The newest `limit` requests where the requester is (default and bounds in Settings)."""
        s = self.settings
        limit = s.history_limit_default if limit is None else limit
        _check_range("limit", limit, 1, s.history_limit_max)
        return await self.storage.history(
            guild_id=requester.guild_id,
            channel_id=requester.channel_id,
            user_id=user_id,
            limit=limit,
        )

    # -- shutdown -------------------------------------------------------------------
    async def close(self, grace_seconds: float = 30.0) -> None:
        """Stop accepting, let the running batch finish and the replies in flight reach their
        users, mark the rest interrupted."""
        self._closing = True
        for job in self._queue.drain():
            await self.storage.finish(job.request_id, "interrupted", error="the bot shut down")
            _settle(job.future, exception=ShuttingDown("The bot shut down before your request ran."))
        if self._worker is not None:
            if self._running:
                running = [j.future for j in self._running]
                await asyncio.wait(running, timeout=grace_seconds)
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for job in self._running:
            await self.storage.finish(job.request_id, "interrupted", error="the bot shut down")
            _settle(
                job.future,
                exception=ShuttingDown("The bot shut down before your request finished."),
            )
        if self._delivering:
            await asyncio.wait(list(self._delivering.values()), timeout=grace_seconds)
        for request_id in list(self._delivering):
            await self.storage.finish(request_id, "interrupted", error="the bot shut down while delivering")
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self.storage.close()


def _check_range(name: str, value: object, low: float, high: float) -> None:
    """`value` is a number within [low, high]; a whole number where the bounds are."""
    whole = isinstance(low, int) and isinstance(high, int)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "a whole number" if whole else "a number"
        raise InvalidOption(f"{name} must be {kind} between {low:g} and {high:g}.")
    if not low <= value <= high:
        raise InvalidOption(f"{name} must be between {low:g} and {high:g} (got {value:g}).")


def _check_text(name: str, text: object, max_chars: int) -> str:
    if not isinstance(text, str):
        raise InvalidOption(f"{name} must be text.")
    if len(text) > max_chars:
        raise InvalidOption(f"{name} can be at most {max_chars} characters long (got {len(text):,}).")
    return text


def _seed(seed: int | None) -> int:
    if seed is None:
        return new_seed()
    _check_range("seed", seed, 0, SEED_LIMIT - 1)
    return seed


def _settle(future: asyncio.Future, *, result: Any = None, exception: Exception | None = None) -> None:
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
        future.exception()  # retrieved here too, so an unawaited ticket logs nothing
    else:
        future.set_result(result)


def _summary(reply: Reply) -> str:
    if isinstance(reply, LyricsReply):
        return reply.text[:EXCERPT_CHARS]
    return ", ".join(f"{a.filename} ({len(a.data):,} bytes)" for a in reply.attachments)
