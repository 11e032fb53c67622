"""SongService: admission, the worker, delivery and shutdown, independent of Discord.

validate (bot.rules) → reserve a place (synchronously, so a burst cannot overrun the caps)
→ for /continue, download and read the file only now → store as queued → enqueue (fair
across users) → a worker that takes every waiting request for the same model as one batch
and advances batches a slice at a time in a thread, off the event loop, newest batch
first → hand the reply to the adapter's `send` → store as done only once it was
delivered. The Discord cogs and the console are thin adapters over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from bot import rules
from bot.batches import Batch, LyricsBatch, PianoBatch
from bot.config import Settings
from bot.fair_queue import FairQueue
from bot.formatting import artist_page
from bot.metrics import Metrics
from bot.midi_reader import read_prime_isolated
from bot.requests import (
    AUTO_STYLE,
    Busy,
    Command,
    ContinueOptions,
    DeliveryFailed,
    GenerationFailed,
    InvalidOption,
    Kind,
    LyricsReply,
    MidiOptions,
    Options,
    Reply,
    Requester,
    ServiceError,
    ShuttingDown,
    Unavailable,
)
from bot.storage import (
    GuildSetting,
    HoldRefused,
    Instance,
    RequestRecord,
    ShardClaim,
    Storage,
    StorageError,
    open_storage,
)
from ml.errors import DataError, UnknownArtistError, shorten
from ml.music.generate import PianoGenerator
from ml.music.styles import StyleReader, read_style
from ml.paths import DEFAULT_STYLE_READER
from ml.text.artists import AmbiguousArtistError
from ml.text.generate import LyricsGenerator
from ml.text.safety import masked

log = logging.getLogger(__name__)

T = TypeVar("T")
DATABASE_UNREACHABLE = "I can't reach my database right now; please try again in a minute."


@dataclass(frozen=True)
class CommandSpec:
    """What differs between commands: the model a request runs on (requests of a kind
    batch together), their option rules, how a batch of them is generated, and what the
    user calls the result."""

    kind: Callable[[Any], Kind]
    resolve: Callable[[SongService, Any], Options]
    batch: Callable[[SongService, list[tuple[int, Any]]], Batch]
    noun: str


def _lyrics_batch(service: SongService, jobs: list[tuple[int, Any]]) -> Batch:
    return LyricsBatch(service.lyrics, jobs)


def _piano_batch(service: SongService, jobs: list[tuple[int, Any]]) -> Batch:
    s = service.settings
    style = jobs[0][1].style  # a batch is one kind: one style's model
    return PianoBatch(
        service.music[style], jobs, s.music.slice_seconds, s.music.max_notes, s.music.soundfonts()
    )


def music_kind(style: str) -> Kind:
    """The kind of a style's requests: they batch on that style's model."""
    return f"music-{style}"


def _music_kind(options: MidiOptions | ContinueOptions) -> Kind:
    return music_kind(options.style)


COMMANDS: dict[Command, CommandSpec] = {
    "lyrics": CommandSpec(
        lambda o: "lyrics",
        lambda s, o: rules.resolve_lyrics(s.settings, s.lyrics, o),
        _lyrics_batch,
        "lyrics",
    ),
    "midi": CommandSpec(_music_kind, lambda s, o: rules.resolve_midi(s.settings, o), _piano_batch, "piece"),
    "continue": CommandSpec(
        _music_kind, lambda s, o: rules.resolve_continue(s.settings, o), _piano_batch, "continuation"
    ),
}


@dataclass(eq=False)
class Job:
    request_id: int
    requester: Requester
    kind: Kind
    options: Options
    future: asyncio.Future = field(repr=False)
    accepted_at: float = 0.0

    @property
    def user_id(self) -> int:
        return self.requester.user_id


@dataclass(eq=False)
class Reservation:
    """A place in line taken by `SongService.reserve`, not yet stored or queued."""

    requester: Requester
    options: Options  # as they will run (a /continue's prime is set once its file is read)
    previous_accept: float | None  # the user's cooldown before this, restored on release
    hold_id: int | None = None  # the place in the database, counted by every process
    released: bool = False


@dataclass(frozen=True)
class Exchange:
    """How an adapter talks to the user behind one request (`SongService.handle`)."""

    acknowledge: Callable[[], Awaitable[None]]  # "working on it", once the request is admitted
    send: Callable[[Reply], Awaitable[None]]  # deliver the reply
    fetch: Callable[[], Awaitable[bytes]] | None = None  # a /continue's file, once admitted
    queued: Callable[[int], Awaitable[None]] | None = None  # told the place in line when > 0


@dataclass(frozen=True)
class Ticket:
    """An accepted request: its id, its place in line (0 = runs now), and its reply."""

    request_id: int
    position: int
    job: Job = field(repr=False)

    async def reply(self) -> Reply:
        """The reply once generated; adapters hand it over through `SongService.deliver`."""
        return await self.job.future


def _style_reader(music: dict[str, PianoGenerator]) -> StyleReader | None:
    """/continue's style reader, where it was fitted on the models loaded (ml.music.styles)."""
    reader = StyleReader.load(DEFAULT_STYLE_READER)
    if reader is None or not reader.fits(music):
        if reader is not None and tuple(music) == reader.styles:
            log.warning(
                "%s was fitted on other music models; style auto compares raw scores", DEFAULT_STYLE_READER
            )
        return None
    return reader


def model_version(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{path.name}@{digest}"


class SongService:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        lyrics: LyricsGenerator,
        music: dict[str, PianoGenerator],
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.lyrics = lyrics
        self.music = music  # style → its model, in the order styles are offered
        self.style_reader = _style_reader(music)
        self.versions = {"lyrics": model_version(Path(settings.lyrics.checkpoint))} | {
            music_kind(style): model_version(Path(path))
            for style, path in settings.music.checkpoints().items()
        }
        self.started_at = time.monotonic()
        self._queue: FairQueue[Job] = FairQueue()
        self._running: dict[int, Job] = {}  # taken by the worker, reply not settled yet
        self._batches_in_progress: deque[tuple[Batch, list[Job], float]] = deque()  # ..., started at
        self._reserved: Counter[int] = Counter()  # admitted, not queued yet
        self._last_accepted: dict[int, float] = {}
        self._wakeup = asyncio.Event()
        # One worker advances one batch at a time, so one thread is all it can use.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="generate")
        # Files are read one at a time, each in a process of its own (bot.midi_reader).
        self._reading = asyncio.Semaphore(1)
        self._delivering: dict[int, tuple[Job, asyncio.Future]] = {}  # id → (job, settles when delivered)
        self._adapters: set[asyncio.Task] = set()  # adapter tasks between admission and their answer
        self._worker: asyncio.Task | None = None
        self._lease: asyncio.Task | None = None
        self._closing = False
        self._closed = False
        self._served = Counter()
        self._batches = 0
        self._seconds_per_job = 2.0  # running estimate for "try again in N s"
        now = time.monotonic()
        self._renewed_at = now  # the last renewal that reached the database
        self._lease_until = now + settings.storage.lease_seconds  # by this process's clock
        self._sweep_after = now  # no sweeping before this (after an outage of our own)
        self._database_reachable = True
        self._worker_beat = now  # the worker's last finished step
        self.metrics = Metrics()
        self.metrics.queue_depth.set_function(lambda: len(self._queue))
        self.metrics.in_flight.set_function(lambda: len(self._running))
        for model, version in self.versions.items():
            self.metrics.model_info.labels(model, version).set(1)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        shards: ShardClaim | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> SongService:
        """Open the database as an instance serving `shards` (None: the console), first so
        it fails fast; load the models in threads (`announce` is told before that pause);
        close what dead instances left open; start the worker and the lease."""
        instance = Instance.new(shards, settings.storage.lease_seconds)
        storage = await open_storage(settings.storage.url, instance)
        if announce is not None:
            announce("loading models…")
        started = time.monotonic()
        try:
            styles = settings.music.checkpoints()
            lyrics, *music = await asyncio.gather(
                asyncio.to_thread(LyricsGenerator.from_checkpoint, settings.lyrics.checkpoint),
                *(asyncio.to_thread(PianoGenerator.from_checkpoint, path) for path in styles.values()),
            )
            renewal = await storage.renew_lease()
        except BaseException:
            await storage.close()
            raise
        if renewal.interrupted:
            log.warning(
                "marked %d requests left open by stopped processes as interrupted", renewal.interrupted
            )
        served = shards.describe() if shards else "the console"
        log.info("instance %s on %s, serving %s", instance.id, storage.url_shown, served)
        service = cls(settings, storage, lyrics, dict(zip(styles, music, strict=True)))
        service.metrics.model_load_seconds.set(time.monotonic() - started)
        service.run_worker()
        service._lease = asyncio.create_task(service._keep_lease(), name="database-lease")
        return service

    def run_worker(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="generation-worker")

    async def _keep_lease(self) -> None:
        """Renew this process's lease while it runs, and close dead processes' open rows.

        Nothing ends this loop but shutdown: every failure is logged and the next renewal
        comes on time. Only a renewal that follows a successful one sweeps, and it is
        bounded by the renewal interval, so an outage that begins while it waits cannot
        end in a sweep of the others it cut off too; a renewal after a failure may take
        the whole lease. A process that was itself out of reach for longer than a lease
        sweeps nobody until it has been back for a lease: the others were most likely cut
        off by the same outage, and are alive."""
        lease = self.settings.storage.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            started = time.monotonic()
            sweep = self._database_reachable and started >= self._sweep_after
            try:
                async with asyncio.timeout(lease / 3 if sweep else lease):
                    renewal = await self.storage.renew_lease(sweep=sweep)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._database_reachable = False
                left, reason = self._lease_until - time.monotonic(), str(exc) or "timed out"
                if left > 0:
                    log.error("could not renew the lease (%s); %.0f s of it left", reason, left)
                else:
                    log.error(
                        "could not renew the lease (%s); it has run out, so this process takes no new "
                        "requests until the database is back",
                        reason,
                    )
                continue
            if started - self._renewed_at > lease or renewal.lapsed:
                self._sweep_after = time.monotonic() + lease
                log.warning(
                    "database back after %.0f s; sweeping no other process for %g s",
                    started - self._renewed_at,
                    lease,
                )
            self._renewed_at, self._lease_until = started, started + lease
            self._database_reachable = True
            if renewal.lapsed:
                await self._hold_in_flight_again()
            if renewal.interrupted:
                log.warning("marked %d requests of stopped processes as interrupted", renewal.interrupted)

    async def _hold_in_flight_again(self) -> None:
        """Requests still in flight here keep their users' places, whatever another
        process gave back while this one's lease had run out."""
        jobs = [*self._queue.order(), *self._running.values(), *(j for j, _ in self._delivering.values())]
        try:
            await self.storage.restore_holds([(j.user_id, j.request_id) for j in jobs])
        except StorageError as exc:
            log.error("could not hold the places of requests in flight again: %s", exc)

    @property
    def lease_held(self) -> bool:
        """Whether this process's lease is surely still valid (by its own clock)."""
        return time.monotonic() < self._lease_until

    @property
    def worker_alive(self) -> bool:
        return self._worker is not None and not self._worker.done()

    @property
    def worker_stalled(self) -> bool:
        """Work is waiting, and the worker has not finished a slice for too long."""
        busy = bool(len(self._queue) or self._running)
        idle_for = time.monotonic() - self._worker_beat
        return busy and idle_for > self.settings.monitoring.worker_stall_seconds

    @property
    def healthy(self) -> bool:
        """The worker alive and moving, the database reachable, the lease held."""
        return self.worker_alive and not self.worker_stalled and self._database_reachable and self.lease_held

    # -- admission ------------------------------------------------------------------
    def check(self, requester: Requester, options: Options, cooldown: bool = True) -> Options:
        """Everything that can refuse a request, without side effects: options as they will run."""
        if self._closing:
            raise ShuttingDown("The bot is shutting down; try again in a minute.")
        if not self.lease_held:
            raise Unavailable(DATABASE_UNREACHABLE)
        resolved = COMMANDS[options.command].resolve(self, options)
        self._check_capacity(requester.user_id, cooldown)
        return resolved

    async def reserve(self, requester: Requester, options: Options, cooldown: bool = True) -> Reservation:
        """Validate, check the caps and take a place in line: in this process before any
        await, then in the database, which counts the user's places in every process.

        Requests arriving later in the same burst see the place taken, so no burst can
        overrun a cap or the cooldown (`cooldown=False`: the console's single local user is
        held to the caps only). Adapters reserve before acknowledging (and before
        downloading anything), so a refusal is a private reply that cost nothing; the
        place is kept until `enter` or `release`.
        """
        try:
            resolved = self.check(requester, options, cooldown)
        except ServiceError as exc:
            self.metrics.refusals.labels(_refusal_reason(exc)).inc()
            raise
        user_id = requester.user_id
        reservation = Reservation(requester, resolved, self._last_accepted.get(user_id))
        self._last_accepted[user_id] = time.monotonic()
        self._reserved[user_id] += 1
        try:
            reservation.hold_id = await self._take_hold(user_id, cooldown)
        except ServiceError as exc:
            self.metrics.refusals.labels(_refusal_reason(exc)).inc()
            await self.release(reservation)
            raise
        except BaseException:
            await self.release(reservation)
            raise
        return reservation

    async def _take_hold(self, user_id: int, cooldown: bool) -> int:
        """The user's place in the database, within the time an acknowledgement can wait."""
        s = self.settings
        try:
            async with asyncio.timeout(s.storage.hold_timeout_seconds):
                hold = await self.storage.take_hold(
                    user_id,
                    max_open=s.queue.max_per_user,
                    cooldown_seconds=s.queue.cooldown_seconds if cooldown else 0.0,
                )
        except (TimeoutError, StorageError) as exc:
            log.warning("could not take a place in line in the database: %s", str(exc) or "timed out")
            raise Unavailable(DATABASE_UNREACHABLE) from None
        if isinstance(hold, HoldRefused):
            if hold.reason == "cooldown":
                raise _cooldown_busy(hold.cooldown_left)
            raise self._user_cap_busy(hold.open_requests)
        return hold

    async def release(self, reservation: Reservation, *, taken: bool = False) -> None:
        """Give a reserved place back; unless it was `taken` into the queue, undo its
        cooldown and give back its place in the database."""
        if reservation.released:
            return
        reservation.released = True
        user_id = reservation.requester.user_id
        self._reserved[user_id] -= 1
        if not self._reserved[user_id]:
            del self._reserved[user_id]
        if taken:
            return
        if reservation.previous_accept is None:
            self._last_accepted.pop(user_id, None)
        else:
            self._last_accepted[user_id] = reservation.previous_accept
        if reservation.hold_id is not None:
            try:
                await self.storage.release_hold(reservation.hold_id, restore_cooldown=True)
            except StorageError as exc:  # the hold expires with this process's lease
                log.warning("could not give back a place in line: %s", exc)

    async def load_prime(self, reservation: Reservation, fetch: Callable[[], Awaitable[bytes]]) -> None:
        """Fetch a reserved /continue's file and read it in a process of its own, bounded in
        time and memory; InvalidOption says what is wrong with it. Reading decodes only
        what the model reads (see ml.music.midi_window). With style auto, every style's
        model scores the piece (between slices of generation) and the likeliest plays on."""
        options = reservation.options
        if not isinstance(options, ContinueOptions):
            raise TypeError("only a /continue request has a file to load")
        data = await fetch()
        shown = rules.display_name(self.settings, options.filename)
        rules.check_file_size(shown, len(data), self.settings.music.continue_max_bytes)
        if not data:
            raise InvalidOption(f"{shown} is empty.")
        s = self.settings
        reader = self.music.get(options.style) or next(iter(self.music.values()))
        try:
            async with self._reading:
                prime = await read_prime_isolated(
                    data,
                    s.music.continue_prime_bars,
                    reader.frames_per_beat,
                    reader.transpose,
                    s.music.continue_read_timeout_seconds,
                )
        except DataError as exc:
            raise InvalidOption(f"Cannot read {shown} as a MIDI file: {exc}.") from None
        style, reason = options.style, None
        if style == AUTO_STYLE:
            loop = asyncio.get_running_loop()
            reading = await loop.run_in_executor(
                self._executor, read_style, self.music, prime, self.style_reader
            )
            style, reason = reading.style, reading.explanation()
        reservation.options = replace(
            options, prime=self.music[style].read(prime), style=style, style_reason=reason
        )

    async def enter(self, reservation: Reservation) -> Ticket:
        """Store a reserved request as queued and put it in line."""
        requester, options = reservation.requester, reservation.options
        if isinstance(options, ContinueOptions) and options.prime is None:
            raise TypeError("a /continue request enters the queue once its file is loaded")
        kind = COMMANDS[options.command].kind(options)
        try:
            request_id = await self.storage.insert_request(
                guild_id=requester.guild_id,
                channel_id=requester.channel_id,
                user_id=requester.user_id,
                user_name=rules.without_format_chars(requester.user_name),
                command=options.command,
                options=options.for_history(),
                model_version=self.versions[kind],
                hold_id=reservation.hold_id,
            )
        except StorageError as exc:
            log.warning("could not store a request: %s", exc)
            await self.release(reservation)
            raise Unavailable(DATABASE_UNREACHABLE) from None
        except BaseException:
            await self.release(reservation)
            raise
        await self.release(reservation, taken=True)
        now = time.monotonic()
        if not self._running and not self._batches_in_progress:
            self._worker_beat = now  # an idle worker's clock starts with its first job
        job = Job(request_id, requester, kind, options, asyncio.get_running_loop().create_future(), now)
        self._queue.push(job)
        position = 0 if not self._running and len(self._queue) == 1 else self._queue.position(job)
        self._wakeup.set()
        return Ticket(request_id, position, job)

    async def submit(self, requester: Requester, options: Options) -> Ticket:
        """Reserve and enter in one step, for callers with nothing to do in between."""
        return await self.enter(await self.reserve(requester, options))

    async def handle(
        self, requester: Requester, options: Options, exchange: Exchange, *, cooldown: bool = True
    ) -> Reply:
        """One request from admission to delivery, in the one order every adapter needs:
        reserve (every refusal happens here, before anything is acknowledged or
        downloaded) → acknowledge → fetch and read a /continue's file → the server's
        choices (profanity, SoundFont) → store and queue → wait → send. The place is given
        back on any failure before the queue; a ServiceError says what to tell the user."""
        reservation = await self.reserve(requester, options, cooldown)
        async with self.answering():
            try:
                await exchange.acknowledge()
                if exchange.fetch is not None:
                    await self.load_prime(reservation, exchange.fetch)
                if requester.guild_id is not None:
                    self._apply_server_choices(reservation, await self.server_choices(requester.guild_id))
            except BaseException:
                await self.release(reservation)
                raise
            ticket = await self.enter(reservation)
            if ticket.position > 0 and exchange.queued is not None:
                await exchange.queued(ticket.position)
            return await self.deliver(ticket, exchange.send)

    @contextlib.asynccontextmanager
    async def answering(self) -> AsyncIterator[None]:
        """Wrap an adapter's handling of one request, so shutdown waits for it to tell its
        user what happened before the connection closes."""
        task = asyncio.current_task()
        self._adapters.add(task)
        try:
            yield
        finally:
            self._adapters.discard(task)

    def _check_capacity(self, user_id: int, cooldown: bool) -> None:
        s = self.settings
        since = time.monotonic() - self._last_accepted.get(user_id, -math.inf)
        if cooldown and since < s.queue.cooldown_seconds:
            raise _cooldown_busy(s.queue.cooldown_seconds - since)
        mine = (
            self._queue.count_for(user_id)
            + self._reserved[user_id]
            + sum(j.user_id == user_id for j in self._running.values())
        )
        if mine >= s.queue.max_per_user:
            raise self._user_cap_busy(mine)
        waiting = len(self._queue) + self._reserved.total()
        if waiting >= s.queue.max:
            wait = self._estimated_wait(waiting)
            raise Busy(f"I'm busy right now; try again in {math.ceil(wait)} s.", wait, "queue_full")

    def _user_cap_busy(self, open_requests: int) -> Busy:
        wait = self._estimated_wait(open_requests)
        return Busy(
            f"You already have {open_requests} requests in line (the limit is "
            f"{self.settings.queue.max_per_user}); try again in {math.ceil(wait)} s.",
            wait,
            "user_cap",
        )

    def _estimated_wait(self, jobs_ahead: int) -> float:
        batches = math.ceil(max(jobs_ahead, 1) / self.settings.queue.batch_max)
        return max(batches * self._seconds_per_job * min(jobs_ahead, self.settings.queue.batch_max), 1.0)

    # -- the worker -----------------------------------------------------------------
    async def _work(self) -> None:
        """Advance batches one slice at a time. A new batch runs its first slice before any
        batch already in progress runs another, so a short request waits at most one
        slice behind long pieces; batches in progress then take turns."""
        in_progress = self._batches_in_progress
        started_one = False
        while True:
            self._worker_beat = time.monotonic()
            if len(self._queue) and not (started_one and in_progress):
                jobs = self._queue.take(self.settings.queue.batch_max)
                self._running.update((j.request_id, j) for j in jobs)
                started_one = True
                try:
                    await self.storage.mark_running([j.request_id for j in jobs])
                    in_progress.appendleft((self._batch_of(jobs), jobs, time.monotonic()))
                    self.metrics.batch_size.labels(jobs[0].kind).observe(len(jobs))
                except Exception as exc:
                    await self._fail(jobs, exc)
                    continue
            elif in_progress:
                started_one = False
            else:
                started_one = False
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch, jobs, started = in_progress.popleft()
            try:
                replies = await asyncio.get_running_loop().run_in_executor(self._executor, batch.advance)
            except Exception as exc:
                await self._fail(jobs, exc)
                continue
            if replies is None:
                in_progress.append((batch, jobs, started))
                continue
            elapsed = time.monotonic() - started  # slices of other batches included: what users wait
            self._seconds_per_job = 0.8 * self._seconds_per_job + 0.2 * elapsed / len(jobs)
            self.metrics.generation_seconds.labels(jobs[0].kind).observe(elapsed)
            self._batches += 1
            for job, reply in zip(jobs, replies, strict=True):
                self._running.pop(job.request_id, None)
                _settle(job.future, result=_as_shown(job, reply))  # the row stays running until delivered

    def _batch_of(self, jobs: list[Job]) -> Batch:
        """One batch of a kind's jobs (/midi and /continue of a style share its model's batches)."""
        spec = COMMANDS[jobs[0].options.command]
        return spec.batch(self, [(j.request_id, j.options) for j in jobs])

    async def _fail(self, jobs: list[Job], exc: Exception) -> None:
        log.error("generation failed for requests %s", [j.request_id for j in jobs], exc_info=exc)
        message = f"Generation failed ({type(exc).__name__}); please try again."
        for job in jobs:
            self._running.pop(job.request_id, None)
            self.metrics.requests.labels(job.options.command, "failed").inc()
            with contextlib.suppress(Exception):  # the database may be the failure
                await self.storage.finish(job.request_id, "failed", error=f"{type(exc).__name__}: {exc}")
            _settle(job.future, exception=GenerationFailed(message))

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
        self._delivering[job.request_id] = (job, finished)  # shutdown waits for these
        try:
            started = time.monotonic()
            reason = await self._send(reply, send)
            self.metrics.delivery_seconds.labels(job.options.command).observe(time.monotonic() - started)
            await self._close_row(job, "undelivered" if reason else "done", reply, error=reason)
        finally:
            del self._delivering[job.request_id]
            finished.set_result(None)
        if reason:
            noun = COMMANDS[job.options.command].noun
            raise DeliveryFailed(
                f"Your {noun} (request #{job.request_id}) was made but could not be delivered "
                f"({reason}); it is in /history. Please try again."
            )
        self._served[job.kind] += 1
        return reply

    async def _send(self, reply: Reply, send: Callable[[Reply], Awaitable[None]]) -> str | None:
        """Run `send` within the delivery time limit; why it failed, or None."""
        limit = self.settings.discord.delivery_timeout_seconds
        try:
            async with asyncio.timeout(limit):
                await send(reply)
        except TimeoutError:
            return f"the reply was not accepted within {limit:g} s"
        except Exception as exc:
            log.warning("request %d was not delivered: %s", reply.request_id, exc)
            return shorten(f"{type(exc).__name__}: {exc}", self.settings.storage.excerpt_chars)
        return None

    async def _close_row(self, job: Job, status: str, reply: Reply, error: str | None = None) -> None:
        if self._closed:  # shut down mid-delivery: the row was marked interrupted
            return
        self.metrics.requests.labels(job.options.command, status).inc()
        await self.storage.finish(
            job.request_id,
            status,
            result=reply.summary(self.settings.storage.excerpt_chars),
            error=error,
            duration_ms=round((time.monotonic() - job.accepted_at) * 1000),
        )

    # -- what the commands show -----------------------------------------------------
    async def server_choices(self, guild_id: int) -> GuildSetting:
        """What the server chose with /settings. Read once the user has been answered; a
        database that does not answer in time gives the defaults (profanity masked)."""
        try:
            async with asyncio.timeout(self.settings.storage.hold_timeout_seconds):
                return await self.storage.guild_setting(guild_id)
        except (TimeoutError, StorageError) as exc:
            log.warning("could not read server %d's settings (%s); using the defaults", guild_id, exc)
            return GuildSetting(guild_id)

    def _apply_server_choices(self, reservation: Reservation, choices: GuildSetting) -> None:
        requester, options = reservation.requester, reservation.options
        if choices.profanity and not requester.profanity_allowed:
            reservation.requester = replace(requester, profanity_allowed=True)
        if isinstance(options, MidiOptions | ContinueOptions):
            known = choices.soundfont in self.settings.music.soundfonts()
            if choices.soundfont is not None and not known:
                log.warning(
                    "server %d's SoundFont %r is gone; using the default", choices.guild_id, choices.soundfont
                )
            reservation.options = replace(options, soundfont=choices.soundfont if known else None)

    async def setting(self, guild_id: int) -> GuildSetting:
        """The server's choices, for /settings: an unreachable database is an error here."""
        return await self._read("reading this server's settings", self.storage.guild_setting(guild_id))

    async def set_profanity(self, guild_id: int, choice: object, admin_id: int) -> None:
        """Store an admin's /settings choice, exactly "on" or "off" whatever the client sent."""
        allowed = rules.on_off("profanity", choice)
        await self._read(
            "storing this server's settings", self.storage.set_profanity_allowed(guild_id, allowed, admin_id)
        )

    async def set_soundfont(self, guild_id: int, choice: object, admin_id: int) -> None:
        """Store the SoundFont a server's previews use: one of the names offered, or "default"."""
        name = rules.soundfont_choice(self.settings, choice)
        await self._read(
            "storing this server's settings", self.storage.set_soundfont(guild_id, name, admin_id)
        )

    async def _read(self, what: str, call: Awaitable[T]) -> T:
        """A database call for a command that has already been acknowledged, bounded by the
        time a user waits for an answer; Unavailable when the database does not answer."""
        try:
            async with asyncio.timeout(self.settings.storage.answer_timeout_seconds):
                return await call
        except (TimeoutError, StorageError) as exc:
            log.warning("%s failed: %s", what, str(exc) or "timed out")
            raise Unavailable(DATABASE_UNREACHABLE) from None

    def artist_song_counts(self) -> dict[str, int]:
        return self.lyrics.song_counts

    def artist_choices(self, typed: str | None) -> list[str]:
        """The artists a name could mean when it fits several equally (else empty)."""
        try:
            self.lyrics.artist_table.match(typed if isinstance(typed, str) else None)
        except AmbiguousArtistError as exc:
            return exc.suggestions
        except UnknownArtistError:
            pass
        return []

    def artist_page(self, search: object, page: object) -> str:
        """/artists: one page of the artists the lyrics model knows, matching `search`."""
        s = self.settings
        search = rules.check_text("search", "" if search is None else search, s.lyrics.artist_max_chars)
        page = 1 if page is None else page
        rules.check_range("page", page, 1, s.lyrics.artist_pages_max)
        counts = self.artist_song_counts()
        return artist_page(self.suggest_artists(search), counts, search, page, s.discord.echo_chars)

    def suggest_artists(self, typed: str) -> list[str]:
        """Artists ranked for autocomplete (the Discord edge keeps as many as it may show)."""
        return self.lyrics.artist_table.ranked(typed[: self.settings.lyrics.artist_max_chars])

    def queue_status(self, user_id: int) -> dict[str, Any]:
        order = self._queue.order()
        return {
            "waiting": len(order),
            "running": len(self._running),
            "your_positions": [i for i, j in enumerate(order, start=1) if j.user_id == user_id],
            "your_running": sum(j.user_id == user_id for j in self._running.values()),
        }

    def occupancy(self) -> tuple[int, int]:
        """(places taken in line, most taken by one user): what the caps bound, reserved included."""
        per_user = Counter(j.user_id for j in self._queue.order()) + self._reserved
        per_user.update(j.user_id for j in self._running.values())
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
        return {
            "lyrics": {
                **describe(
                    self.lyrics,
                    {
                        "songs": lyrics_data.songs,
                        "artists": lyrics_data.artists,
                        "any_artist_songs": lyrics_data.any_artist_songs,
                    },
                ),
                "version": self.versions["lyrics"],
            },
            "music": {
                style: {
                    **describe(generator, asdict(generator.meta.data)),
                    "version": self.versions[music_kind(style)],
                }
                for style, generator in self.music.items()
            },
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
        limit = s.storage.history_limit_default if limit is None else limit
        rules.check_range("limit", limit, 1, s.storage.history_limit_max)
        return await self._read(
            "reading the history",
            self.storage.history(
                guild_id=requester.guild_id, channel_id=requester.channel_id, user_id=user_id, limit=limit
            ),
        )

    # -- shutdown -------------------------------------------------------------------
    async def close(self, grace_seconds: float = 30.0) -> None:
        """Stop accepting; give the batches in progress and the replies in flight up to
        `grace_seconds` to reach their users; mark every other open request interrupted and
        tell its user while the connection still allows."""
        self._closing = True
        if self._lease is not None:
            self._lease.cancel()
            await asyncio.gather(self._lease, return_exceptions=True)
        for job in self._queue.drain():
            self.metrics.requests.labels(job.options.command, "interrupted").inc()
            await self.storage.finish(job.request_id, "interrupted", error="the bot shut down")
            _settle(job.future, exception=ShuttingDown("The bot shut down before your request ran."))
        if self._running and grace_seconds > 0:
            await asyncio.wait([j.future for j in self._running.values()], timeout=grace_seconds)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for job in list(self._running.values()):  # still unsettled: the worker stopped mid-batch
            self.metrics.requests.labels(job.options.command, "interrupted").inc()
            await self.storage.finish(job.request_id, "interrupted", error="the bot shut down")
            _settle(job.future, exception=ShuttingDown("The bot shut down before your request finished."))
        self._running.clear()
        self._batches_in_progress.clear()
        if self._delivering:
            delivered = [f for _, f in self._delivering.values()]
            await asyncio.wait(delivered, timeout=max(grace_seconds, 0.01))
        for request_id, (job, _) in list(self._delivering.items()):
            self.metrics.requests.labels(job.options.command, "interrupted").inc()
            await self.storage.finish(request_id, "interrupted", error="the bot shut down while delivering")
        self._closed = True
        adapters = [t for t in self._adapters if t is not asyncio.current_task() and not t.done()]
        if adapters:  # they are telling their users; a moment, not the whole grace
            await asyncio.wait(adapters, timeout=min(grace_seconds, 5.0) or 0.5)
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self.storage.close()


def _as_shown(job: Job, reply: Reply) -> Reply:
    """Lyrics with their profanity masked, unless where they go allows it (slurs are
    already out: the generator cuts their lines wherever they are)."""
    if not isinstance(reply, LyricsReply) or job.requester.profanity_allowed:
        return reply
    text, count = masked(reply.text)
    return replace(reply, text=text, words_masked=count)


def _cooldown_busy(wait: float) -> Busy:
    return Busy(f"Slow down a little: you can ask again in {math.ceil(wait)} s.", wait, "cooldown")


def _refusal_reason(error: ServiceError) -> str:
    """The label a refusal is counted under."""
    if isinstance(error, Busy):
        return error.reason
    if isinstance(error, Unavailable):
        return "database_unavailable"
    return "shutting_down" if isinstance(error, ShuttingDown) else "invalid_option"


def _settle(future: asyncio.Future, *, result: Any = None, exception: Exception | None = None) -> None:
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
        future.exception()  # retrieved here too, so an unawaited ticket logs nothing
    else:
        future.set_result(result)
