"""/lyrics and /artists."""

# No `from __future__ import annotations`: the option ranges below are built from the
# settings at run time, and discord.py reads them from the evaluated annotations.

import discord
from discord import app_commands
from discord.ext import commands

from bot.formatting import lyrics_messages
from bot.interactions import NO_PINGS, run_request, send_private
from bot.service import LyricsOptions, LyricsReply, SongService
from bot.views import RerollView


def lyrics_cog(service: SongService) -> commands.Cog:
    s = service.settings
    Temperature = app_commands.Range[float, s.lyrics_temperature_min, s.lyrics_temperature_max]
    Length = app_commands.Range[int, s.lyrics_length_min, s.lyrics_length_max]
    Seed = app_commands.Range[int, 0, 2**31 - 1]
    Start = app_commands.Range[str, 1, s.lyrics_start_max_chars]

    class Lyrics(commands.Cog):
        """Lyrics in the style of an artist."""

        @app_commands.command(description="Write song lyrics, optionally in the style of an artist")
        @app_commands.describe(
            artist="Whose style to write in (leave out for any artist)",
            start="Words the lyrics begin with",
            temperature=f"Low is safe, high is wild (default {s.lyrics_temperature_default:g})",
            length=f"Characters to write (default {s.lyrics_length_default})",
            seed="Number that makes a result repeatable",
        )
        async def lyrics(
            self,
            interaction: discord.Interaction,
            artist: str | None = None,
            start: Start | None = None,
            temperature: Temperature | None = None,
            length: Length | None = None,
            seed: Seed | None = None,
        ) -> None:
            await self.run(interaction, LyricsOptions(artist, start or "", temperature, length, seed))

        @lyrics.autocomplete("artist")
        async def artist_autocomplete(
            self, interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=a, value=a) for a in service.suggest_artists(current)]

        @app_commands.command(description="The artists whose style the lyrics model knows")
        async def artists(self, interaction: discord.Interaction) -> None:
            counts = service.artist_song_counts()
            if not counts:
                await send_private(interaction, "This lyrics model was trained without artists.")
                return
            lines = [
                f"{name} ({n} songs)" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            await send_private(interaction, f"I know {len(lines)} artists:\n" + "\n".join(lines))

        async def run(self, interaction: discord.Interaction, options: LyricsOptions) -> None:
            await run_request(interaction, service, options, self.deliver)

        async def deliver(self, interaction: discord.Interaction, reply: LyricsReply) -> None:
            messages = lyrics_messages(reply)
            view = RerollView.for_settings(reply.options, self.run, s)
            for i, text in enumerate(messages):
                last = i == len(messages) - 1
                await interaction.followup.send(
                    text, allowed_mentions=NO_PINGS, **({"view": view} if last else {})
                )

    return Lyrics()
