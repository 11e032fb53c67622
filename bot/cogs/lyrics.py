"""/lyrics and /artists."""

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.formatting import lyrics_messages, safe
from bot.interactions import NO_PINGS, declare_range, run_request, send_private
from bot.requests import LyricsOptions, LyricsReply
from bot.service import SongService
from bot.views import ArtistChoiceView, RerollView
from ml.errors import shorten


class Lyrics(commands.Cog):
    """Lyrics in the style of an artist."""

    def __init__(self, service: SongService, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        s = settings
        declare_range(self.lyrics, "artist", 1, s.lyrics.artist_max_chars)
        declare_range(self.lyrics, "start", 1, s.lyrics.start_max_chars)
        declare_range(self.lyrics, "temperature", s.sampling.temperature_min, s.sampling.temperature_max)
        declare_range(self.lyrics, "length", s.lyrics.length_min, s.lyrics.length_max)
        declare_range(self.lyrics, "seed", 0, s.sampling.seed_max)
        declare_range(self.lyrics, "style", s.lyrics.style_min, s.lyrics.style_max)
        declare_range(self.artists, "search", 1, s.lyrics.artist_max_chars)
        declare_range(self.artists, "page", 1, s.lyrics.artist_pages_max)

    @app_commands.command(description="Write song lyrics, optionally in the style of an artist")
    @app_commands.describe(
        artist="Whose style to write in (leave out for any artist)",
        start="Words the lyrics begin with",
        temperature="Low is safe, high is wild",
        length="Characters to write",
        seed="Number that makes a result repeatable",
        style="How strongly to follow the artist: 0 ignores them, 1 plain, more exaggerates",
    )
    async def lyrics(
        self,
        interaction: discord.Interaction,
        artist: str | None = None,
        start: str | None = None,
        temperature: float | None = None,
        length: int | None = None,
        seed: int | None = None,
        style: float | None = None,
    ) -> None:
        options = LyricsOptions(
            artist=artist, start=start or "", temperature=temperature, length=length, seed=seed, style=style
        )
        candidates = self.service.artist_choices(artist)
        if candidates:  # a question, not a dead end: one button per artist it could mean
            view = ArtistChoiceView(options, candidates, self.run, self.settings)
            shown = safe(shorten(artist, self.settings.discord.echo_chars))
            text = f"“{shown}” could be several artists; pick one:"
            await interaction.response.send_message(
                text, view=view, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        await self.run(interaction, options)

    @lyrics.autocomplete("artist")
    async def artist_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # A client can send any JSON type as the typed value; it is only ever matched as text.
        names = self.service.suggest_artists(str(current))[: self.settings.discord.autocomplete_choices]
        return [app_commands.Choice(name=a, value=a) for a in names]

    @app_commands.command(description="The artists whose style the lyrics model knows")
    @app_commands.describe(search="Part of a name to look for", page="Which page of the list")
    async def artists(
        self, interaction: discord.Interaction, search: str | None = None, page: int = 1
    ) -> None:
        if not self.service.artist_song_counts():
            await send_private(interaction, "This lyrics model was trained without artists.")
            return
        await send_private(interaction, self.service.artist_page(search, page))

    async def run(self, interaction: discord.Interaction, options: LyricsOptions) -> None:
        await run_request(interaction, self.service, options, self.send)

    async def send(self, interaction: discord.Interaction, reply: LyricsReply) -> None:
        messages = lyrics_messages(reply)
        for text in messages[:-1]:
            await interaction.followup.send(text, allowed_mentions=NO_PINGS)
        view = RerollView(reply.options, self.run, self.settings)
        last = await interaction.followup.send(messages[-1], view=view, allowed_mentions=NO_PINGS, wait=True)
        view.attach(last, interaction.client.live_messages)
