"""/queue and /about: what is waiting, and what is loaded."""

import discord
from discord import app_commands
from discord.ext import commands

from bot.formatting import about_text
from bot.interactions import send_private
from bot.service import SongService


class Info(commands.Cog):
    """The queue and the loaded models."""

    def __init__(self, service: SongService) -> None:
        self.service = service

    @app_commands.command(description="Requests waiting, and where yours are")
    async def queue(self, interaction: discord.Interaction) -> None:
        status = self.service.queue_status(interaction.user.id)
        lines = [f"{status['running']} running, {status['waiting']} waiting."]
        if status["your_running"]:
            lines.append(f"{status['your_running']} of yours running now.")
        if status["your_positions"]:
            lines.append("Yours in line: " + ", ".join(f"#{p}" for p in status["your_positions"]))
        elif not status["your_running"]:
            lines.append("Nothing of yours is waiting.")
        await send_private(interaction, "\n".join(lines))

    @app_commands.command(description="The models I use, and how I'm doing")
    async def about(self, interaction: discord.Interaction) -> None:
        await send_private(interaction, about_text(self.service.about()))
