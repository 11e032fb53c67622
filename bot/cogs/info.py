"""/queue and /about: what is waiting (requests, and the pieces to be played in voice here),
and what is loaded."""

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.listening import Listening
from bot.formatting import about_text
from bot.interactions import send_private
from bot.service import SongService


class Info(commands.Cog):
    """The queue and the loaded models."""

    def __init__(self, service: SongService, listening: Listening) -> None:
        self.service = service
        self.listening = listening

    @app_commands.command(description="Requests waiting and where yours are; what plays in voice here")
    async def queue(self, interaction: discord.Interaction) -> None:
        status = self.service.queue_status(interaction.user.id)
        lines = [f"{status['running']} running, {status['waiting']} waiting."]
        if status["your_running"]:
            lines.append(f"{status['your_running']} of yours running now.")
        if status["your_positions"]:
            lines.append("Yours in line: " + ", ".join(f"#{p}" for p in status["your_positions"]))
        elif not status["your_running"]:
            lines.append("Nothing of yours is waiting.")
        listening = self.listening.listening_status(interaction.guild_id)
        if listening is not None:
            lines += ["", listening]
        await send_private(interaction, "\n".join(lines))

    @app_commands.command(description="The models I use, and how I'm doing")
    async def about(self, interaction: discord.Interaction) -> None:
        await send_private(interaction, about_text(self.service.about()))
