"""The Discord client: loads the models and the database in setup_hook, adds the cogs,
syncs the slash commands, and turns any error into one private reply."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.history import history_cog
from bot.cogs.lyrics import lyrics_cog
from bot.cogs.music import music_cog
from bot.config import Settings
from bot.interactions import NO_PINGS, send_error
from bot.service import SongService
from ml.errors import BalladeerError

log = logging.getLogger(__name__)


class BalladeerBot(commands.Bot):
    def __init__(self, settings: Settings, **client_options: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_PINGS,
            **client_options,
        )
        self.settings = settings
        self.service: SongService | None = None
        self.tree.on_error = self.on_app_command_error

    async def setup_hook(self) -> None:
        self.service = await SongService.start(self.settings)
        for cog in (lyrics_cog(self.service), music_cog(self.service), history_cog(self.service)):
            await self.add_cog(cog)
        if self.settings.dev_guild_id:
            guild = discord.Object(self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %d", len(synced), self.settings.dev_guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands (they may take a while to appear)", len(synced))

    async def on_ready(self) -> None:
        log.info(
            "logged in as %s (%s) in %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds)
        )

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, BalladeerError):
            message = str(original)
        elif isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            message = str(error)
        else:
            log.exception(
                "command %s failed", interaction.command and interaction.command.name, exc_info=original
            )
            message = "Something went wrong on my side; it has been logged. Please try again."
        await send_error(interaction, message)

    async def close(self) -> None:
        """Finish or fail what is in flight (stored), close the database, then disconnect."""
        if self.service is not None:
            await self.service.close()
            self.service = None
        await super().close()


def create_bot(settings: Settings, **client_options: Any) -> BalladeerBot:
    """A bot ready to `start(token)`; nothing touches the network or the models before that."""
    return BalladeerBot(settings, **client_options)
