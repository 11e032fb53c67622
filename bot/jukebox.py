"""Playing in voice: each server's connection and listening queue. discord.py's audio
thread sends the packets; everything else (what plays next, when to leave) happens on the
event loop, so playback never waits on generation and generation never waits on it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging

import discord

from bot.config import VoiceSettings
from bot.listening import ListeningQueue, Track, VoiceRefused
from bot.voice_audio import OpusPackets

log = logging.getLogger(__name__)

VOICE_LIBRARIES = {"nacl.secret": "PyNaCl", "davey": "davey"}  # module → package (discord.py[voice])


def missing_voice_libraries() -> list[str]:
    """The packages voice needs that this installation lacks: PyNaCl encrypts the packets,
    davey speaks DAVE, the end-to-end encryption Discord requires of voice."""
    missing = []
    for module, package in VOICE_LIBRARIES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def playable_here(interaction: discord.Interaction) -> bool:
    """Whether a piece could be played in voice from here: a server that added the bot (not
    a DM, nor a server where only the user installed it), with voice installed."""
    guild_id = interaction.guild_id
    return (
        guild_id is not None
        and interaction.client.get_guild(guild_id) is not None
        and not (missing_voice_libraries())
    )


class GuildPlayer:
    """One server's voice connection: plays its queue in order, then leaves once the queue
    has ended (after `idle_seconds`) or nobody has listened for `empty_seconds`."""

    def __init__(self, guild_id: int, settings: VoiceSettings, jukebox: Jukebox) -> None:
        self.guild_id = guild_id
        self.settings = settings
        self.jukebox = jukebox
        self.queue = ListeningQueue(settings.queue_max, settings.queue_max_per_user)
        self.voice: discord.VoiceClient | None = None
        self.source: OpusPackets | None = None
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._leave_timer: asyncio.TimerHandle | None = None
        self._leave_reason: str | None = None
        self._leaving: asyncio.Task | None = None
        self._connecting = asyncio.Lock()  # two /play at once join once

    @property
    def channel(self) -> discord.abc.Connectable | None:
        return self.voice.channel if self.voice is not None else None

    @property
    def played_seconds(self) -> float:
        return self.source.elapsed_seconds if self.source is not None else 0.0

    def listeners(self) -> set[int]:
        """The members in the bot's channel, bots left out."""
        channel = self.channel
        members = getattr(channel, "members", [])
        return {member.id for member in members if not member.bot}

    async def connect(self, channel: discord.VoiceChannel) -> None:
        async with self._connecting:
            if self.voice is None:
                await self._connect(channel)

    async def _connect(self, channel: discord.VoiceChannel) -> None:
        try:
            self.voice = await channel.connect(
                timeout=self.settings.connect_timeout_seconds, reconnect=True, self_deaf=True
            )
        except TimeoutError:
            self.jukebox.forget(self)
            raise VoiceRefused(
                f"I could not connect to {channel.mention} in time; please try again in a moment."
            ) from None
        except discord.ClientException as exc:  # already connected here by another path
            self.jukebox.forget(self)
            raise VoiceRefused(f"I could not join {channel.mention} ({exc}); please try again.") from None

    def enqueue(self, track: Track) -> int:
        """Queued (played at once when nothing is playing); its place as ListeningQueue.add counts."""
        place = self.queue.add(track)
        if self.queue.playing is None:
            self._play_next()
        return place

    def skip(self) -> None:
        """The piece playing stops and the next one starts, at once (the stopped piece's
        `after` callback then finds itself replaced)."""
        if self.voice is not None:
            self.voice.stop()
        self._play_next()

    def listeners_changed(self) -> None:
        """Someone joined or left the bot's channel: leave when nobody is left to listen."""
        if self.closed:
            return
        if not self.listeners():
            if self._leave_reason != "empty":
                self._leave_after(self.settings.empty_seconds, "empty")
        elif self._leave_reason == "empty":
            self._cancel_leave()
            if self.queue.playing is None:  # the queue ended while nobody was there
                self._leave_after(self.settings.idle_seconds, "idle")

    def _play_next(self) -> None:
        if self.closed:
            return
        track = self.queue.advance()
        if track is None:
            self.source = None
            self._leave_after(self.settings.idle_seconds, "idle")
            return
        if self._leave_reason == "idle":
            self._cancel_leave()
        log.info("guild %d: playing %s (%.1f s)", self.guild_id, track.title, track.seconds)
        self.source = source = OpusPackets(track.packets)
        self.voice.play(source, after=lambda error: self._after(source, error))

    def _after(self, source: OpusPackets, error: Exception | None) -> None:
        """discord.py's audio thread, when a piece has ended: back to the event loop (unless
        the bot has closed meanwhile)."""
        with contextlib.suppress(RuntimeError):  # the loop has closed
            self._loop.call_soon_threadsafe(self._ended, source, error)

    def _ended(self, source: OpusPackets, error: Exception | None) -> None:
        if error is not None:
            log.error("guild %d: playback failed", self.guild_id, exc_info=error)
        if source is self.source:  # not a piece already replaced
            self._play_next()

    def _leave_after(self, seconds: float, reason: str) -> None:
        self._cancel_leave()
        self._leave_reason = reason
        self._leave_timer = self._loop.call_later(seconds, self._leave_now, reason)

    def _cancel_leave(self) -> None:
        if self._leave_timer is not None:
            self._leave_timer.cancel()
        self._leave_timer = self._leave_reason = None

    def _leave_now(self, reason: str) -> None:
        log.info("guild %d: leaving voice (%s)", self.guild_id, reason)
        self._leaving = asyncio.create_task(self.leave())

    async def leave(self) -> None:
        """Stop, forget the queue and disconnect (as a restart or a closing bot does too)."""
        self.closed = True
        self._cancel_leave()
        self.jukebox.forget(self)
        voice, self.voice = self.voice, None
        if voice is not None:
            await voice.disconnect(force=True)

    def disconnected(self) -> None:
        """Discord took the bot out of the channel (kicked, channel deleted): nothing to leave."""
        self.closed = True
        self._cancel_leave()
        self.jukebox.forget(self)


class Jukebox:
    """Every server's player, one per server (a server plays in one channel at a time)."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self.players: dict[int, GuildPlayer] = {}

    def player(self, guild_id: int) -> GuildPlayer | None:
        return self.players.get(guild_id)

    def player_for(self, guild_id: int) -> GuildPlayer:
        player = self.players.get(guild_id)
        if player is None:
            player = self.players[guild_id] = GuildPlayer(guild_id, self.settings, self)
        return player

    def forget(self, player: GuildPlayer) -> None:
        if self.players.get(player.guild_id) is player:
            del self.players[player.guild_id]

    async def close(self) -> None:
        for player in list(self.players.values()):
            await player.leave()
