"""/midi: a piano piece as MIDI, with an audio preview and a piano-roll picture."""

# No `from __future__ import annotations`: option ranges come from the settings at run time.

import discord
from discord import app_commands
from discord.ext import commands

from bot.formatting import midi_message
from bot.interactions import NO_PINGS, as_file, run_request
from bot.service import MidiOptions, MidiReply, SongService
from bot.views import RerollView


def music_cog(service: SongService) -> commands.Cog:
    s = service.settings
    Seconds = app_commands.Range[int, s.midi_seconds_min, s.midi_seconds_max]
    Temperature = app_commands.Range[float, s.lyrics_temperature_min, s.lyrics_temperature_max]
    Seed = app_commands.Range[int, 0, 2**31 - 1]

    class Music(commands.Cog):
        """Piano music."""

        @app_commands.command(description="Compose a short piano piece (MIDI, audio preview, piano roll)")
        @app_commands.describe(
            seconds=f"Length in seconds (default {s.midi_seconds_default})",
            temperature=f"Low is calm, high is adventurous (default {s.midi_temperature_default:g})",
            seed="Number that makes a result repeatable",
        )
        async def midi(
            self,
            interaction: discord.Interaction,
            seconds: Seconds | None = None,
            temperature: Temperature | None = None,
            seed: Seed | None = None,
        ) -> None:
            await self.run(interaction, MidiOptions(seconds, temperature, seed))

        async def run(self, interaction: discord.Interaction, options: MidiOptions) -> None:
            await run_request(interaction, service, options, self.deliver)

        async def deliver(self, interaction: discord.Interaction, reply: MidiReply) -> None:
            view = RerollView.for_settings(reply.options, self.run, s)
            files = [as_file(a.filename, a.data) for a in reply.attachments]
            await interaction.followup.send(
                midi_message(reply), files=files, view=view, allowed_mentions=NO_PINGS
            )

    return Music()
