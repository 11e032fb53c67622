"""/settings: what a server's admins choose for it (today: whether lyrics show profanity)."""

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.interactions import defer_private, send_private
from bot.service import SongService

MASKED = "Profanity in lyrics is masked (f***) here, except in age-restricted channels."
SHOWN = "Profanity in lyrics is shown as written in every channel of this server."


class ServerSettings(commands.Cog):
    """Per-server choices, for members who can manage the server."""

    def __init__(self, service: SongService) -> None:
        self.service = service

    @app_commands.command(name="settings", description="This server's choices (Manage Server only)")
    @app_commands.describe(profanity="on: lyrics show profanity as written; off: masked (f***)")
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)  # a server's own choice
    @app_commands.default_permissions(manage_guild=True)
    async def settings(
        self, interaction: discord.Interaction, profanity: Literal["on", "off"] | None = None
    ) -> None:
        # Discord hides the command from others by default, but a server can change who
        # sees it: the permission is checked here too.
        if not interaction.permissions.manage_guild:
            await send_private(interaction, "Only members who can manage this server can use /settings.")
            return
        await defer_private(interaction)  # the answer waits on the database
        if profanity is None:
            allowed = await self.service.profanity_setting(interaction.guild_id)
        else:
            allowed = await self.service.set_profanity(interaction.guild_id, profanity, interaction.user.id)
        await send_private(interaction, SHOWN if allowed else MASKED)
