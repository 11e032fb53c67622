"""/history: what was asked here, and what became of it."""

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.formatting import history_lines
from bot.interactions import declare_range, defer_private, requester_of, send_private
from bot.service import SongService


class History(commands.Cog):
    """Request history."""

    def __init__(self, service: SongService, settings: Settings) -> None:
        self.service = service
        declare_range(self.history, "limit", 1, settings.storage.history_limit_max)

    @app_commands.command(description="Recent requests here (only you see the answer)")
    @app_commands.describe(user="Only this person's requests", limit="How many")
    async def history(
        self, interaction: discord.Interaction, user: discord.User | None = None, limit: int | None = None
    ) -> None:
        await defer_private(interaction)  # the answer may wait on the database
        records = await self.service.history(requester_of(interaction), user.id if user else None, limit)
        if not records:
            await send_private(interaction, "No requests here yet. Try /lyrics or /midi!")
            return
        where = "this server" if interaction.guild_id else "this conversation"
        await send_private(interaction, f"Latest requests in {where}:\n" + "\n".join(history_lines(records)))
