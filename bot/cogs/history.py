"""/history, /queue and /about: what happened, what is waiting, what is loaded."""

import discord
from discord import app_commands
from discord.ext import commands

from bot.formatting import history_lines
from bot.interactions import requester_of, send_private
from bot.service import SongService

HISTORY_LIMIT_MAX = 25


def history_cog(service: SongService) -> commands.Cog:
    class History(commands.Cog):
        """Request history, the queue, and the loaded models."""

        @app_commands.command(description="Recent requests here (only you see the answer)")
        @app_commands.describe(user="Only this person's requests", limit="How many (default 10)")
        async def history(
            self,
            interaction: discord.Interaction,
            user: discord.User | None = None,
            limit: app_commands.Range[int, 1, HISTORY_LIMIT_MAX] = 10,
        ) -> None:
            records = await service.history(requester_of(interaction), user.id if user else None, limit)
            if not records:
                await send_private(interaction, "No requests here yet. Try /lyrics or /midi!")
                return
            where = "this server" if interaction.guild_id else "this conversation"
            await send_private(
                interaction, f"Latest requests in {where}:\n" + "\n".join(history_lines(records))
            )

        @app_commands.command(description="Requests waiting, and where yours are")
        async def queue(self, interaction: discord.Interaction) -> None:
            status = service.queue_status(interaction.user.id)
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
            await send_private(interaction, about_text(service.about()))

    return History()


def about_text(about: dict) -> str:
    lines = []
    for name, label in (("lyrics", "Lyrics"), ("midi", "Piano")):
        model = about[name]
        config, data, metrics = model["config"], model["data"], model["metrics"]
        size = (
            f"{config.get('layers')}x{config.get('hidden')} LSTM, {model['parameters'] / 1e6:.1f}M parameters"
        )
        if name == "lyrics":
            trained = f"{data.get('songs', '?')} songs by {data.get('artists', '?')} artists"
            score = f"validation {metrics['val_bpc']:.2f} bits/char" if "val_bpc" in metrics else ""
        else:
            trained = f"{data.get('train_tunes', '?')} tunes ({data.get('kind', '?')})"
            score = (
                f"validation {metrics['val_nll_per_frame']:.2f} nats/frame"
                if "val_nll_per_frame" in metrics
                else ""
            )
        lines.append(f"**{label}**: {size}; trained on {trained}; {score} (`{model['version']}`)")
    hours, rest = divmod(int(about["uptime_s"]), 3600)
    served = ", ".join(f"{n} {k}" for k, n in about["served"].items()) or "nothing yet"
    lines.append(
        f"Up {hours} h {rest // 60} min; served {served} in {about['batches']} batches; "
        f"{about['waiting']} waiting."
    )
    return "\n".join(lines)
