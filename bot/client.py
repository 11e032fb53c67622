"""The Discord client: opens the database and loads the models in setup_hook, adds the
cogs and the handler for expired buttons, syncs the slash commands; every error a command
raises reaches `report_error`."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.history import History
from bot.cogs.info import Info
from bot.cogs.listening import Listening
from bot.cogs.lyrics import Lyrics
from bot.cogs.music import Music
from bot.cogs.server_settings import ServerSettings
from bot.config import Settings
from bot.interactions import NO_PINGS, MalformedOptions, report_error
from bot.metrics import MetricsServer
from bot.piece_shelf import PieceShelf
from bot.service import SongService
from bot.storage import ShardClaim
from bot.views import ExpiredButton, PlayButton

log = logging.getLogger(__name__)


class CheckedTree(app_commands.CommandTree):
    """A command tree that answers malformed payloads instead of dropping them.

    discord.py parses option values (a float, a user id) before any command code runs, and
    a value that does not parse escapes its error handling, leaving the user unanswered.
    Parsing them here first turns that into an error `report_error` answers privately.
    """

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        try:
            interaction.namespace  # noqa: B018 (parses and caches the options)
        except (ValueError, TypeError, KeyError) as exc:
            if interaction.type is not discord.InteractionType.application_command:
                return False  # an autocomplete cannot be answered with an error
            raise MalformedOptions(
                "Some of the options of that command could not be read; please check their values."
            ) from exc
        return True


class BalladeerBot(commands.Bot):
    def __init__(self, settings: Settings, **client_options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True, voice_states=True),  # who listens where
            allowed_mentions=NO_PINGS,
            tree_cls=CheckedTree,
            # Installable by servers and by users, usable in servers, DMs and group DMs;
            # commands that only make sense in a server say so themselves (/settings).
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
            **client_options,
        )
        self.settings = settings
        self.service: SongService | None = None
        self.metrics_server: MetricsServer | None = None
        self.listening: Listening | None = None
        self.live_messages: set[int] = set()  # messages whose buttons a live view answers
        self.disconnected_shards: set[int] = set()  # gateway connections down right now
        self.tree.on_error = report_error

    async def setup_hook(self) -> None:
        self.service = await SongService.start(self.settings, shard_claim(self.settings))
        shelf = PieceShelf(round(self.settings.voice.shelf_megabytes * 1_000_000))
        music = Music(self.service, self.settings, shelf)
        self.listening = Listening(self.service, self.settings, shelf)
        for cog in (
            Lyrics(self.service, self.settings),
            music,
            self.listening,
            History(self.service, self.settings),
            Info(self.service, self.listening),
            ServerSettings(self.service),
        ):
            await self.add_cog(cog)
        for menu in (*music.context_menus, *self.listening.context_menus):
            self.tree.add_command(menu)
        self.add_dynamic_items(ExpiredButton, PlayButton)
        monitoring = self.settings.monitoring
        if monitoring.metrics_port is not None:
            await self.serve_metrics(monitoring.metrics_host, monitoring.metrics_port)
        if self.settings.discord.dev_guild_id:
            guild = discord.Object(self.settings.discord.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %d", len(synced), self.settings.discord.dev_guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands (they may take a while to appear)", len(synced))

    async def serve_metrics(self, host: str, port: int) -> None:
        """/metrics (the service's and the gateway's figures) and /healthz on `host`:`port`."""
        metrics = self.service.metrics
        metrics.gauge("balladeer_gateway_latency_seconds", "Heartbeat round trip", lambda: self.latency)
        metrics.gauge(
            "balladeer_shards", "Gateway connections of this process", lambda: self.shard_count or 1
        )
        self.metrics_server = MetricsServer(metrics, self.healthy, port, host)
        await self.metrics_server.start()

    def healthy(self) -> bool:
        """Connected to the gateway (every shard), and the service healthy (worker moving,
        database answering, lease held)."""
        return (
            self.is_ready()
            and not self.is_closed()
            and not self.disconnected_shards
            and self.service is not None
            and self.service.healthy
        )

    # discord.py keeps its ready flag through a lost connection: track the gateway here
    # (one connection, shard 0; the sharded bot tracks each shard instead).
    async def on_disconnect(self) -> None:
        self.disconnected_shards.add(0)

    async def on_connect(self) -> None:
        self.disconnected_shards.discard(0)

    async def on_resumed(self) -> None:
        self.disconnected_shards.discard(0)

    async def on_ready(self) -> None:
        log.info(
            "logged in as %s (%s) in %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds)
        )

    async def close(self) -> None:
        """Leave voice, finish or fail what is in flight (stored), close the database, then
        disconnect."""
        if self.listening is not None:
            await self.listening.jukebox.close()
        if self.service is not None:
            await self.service.close()
            self.service = None
        if self.metrics_server is not None:
            await self.metrics_server.stop()
            self.metrics_server = None
        await super().close()


class ShardedBalladeerBot(BalladeerBot, commands.AutoShardedBot):
    """The same bot over several gateway connections (shards) in one process.

    Each process of a large deployment runs its own shards with its own models; they share
    one PostgreSQL history, or each keeps its own SQLite file (a guild lives on exactly one
    shard, so its history stays in one process until SHARD_COUNT changes).
    """

    async def on_disconnect(self) -> None:
        """Each shard's own event below says which one."""

    async def on_connect(self) -> None:
        """Each shard's own event below says which one."""

    async def on_resumed(self) -> None:
        """Each shard's own event below says which one."""

    async def on_shard_disconnect(self, shard_id: int) -> None:
        self.disconnected_shards.add(shard_id)

    async def on_shard_connect(self, shard_id: int) -> None:
        self.disconnected_shards.discard(shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.disconnected_shards.discard(shard_id)


def shard_claim(settings: Settings) -> ShardClaim:
    """The shards this process serves: SHARD_IDS, or every shard."""
    return ShardClaim(frozenset(settings.discord.shard_ids) if settings.discord.shard_ids else None)


def create_bot(settings: Settings, **client_options: Any) -> BalladeerBot:
    """A bot ready to `start(token)`; nothing touches the network or the models before that.

    With SHARD_COUNT set it is sharded: over SHARD_IDS (default: all), or over as many
    shards as Discord recommends with SHARD_COUNT=auto.
    """
    if settings.discord.shard_count is None:
        return BalladeerBot(settings, **client_options)
    count = None if settings.discord.shard_count == "auto" else settings.discord.shard_count
    return ShardedBalladeerBot(
        settings, shard_count=count, shard_ids=settings.discord.shard_ids, **client_options
    )
