"""/midi and /continue: a piece in one of the music styles (new, or continuing the user's
MIDI file) as MIDI, with an audio preview and a piano-roll picture."""

import logging
from typing import Literal

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.download import download_midi, first_midi
from bot.formatting import midi_message
from bot.interactions import NO_PINGS, as_file, declare_range, run_request, send_private
from bot.jukebox import playable_here
from bot.piece_shelf import PieceShelf, ShelvedPiece
from bot.requests import AUTO_STYLE, Attachment, ContinueOptions, MidiOptions, MidiReply
from bot.service import SongService
from bot.views import PlayButton, RerollView
from ml.music.form import AUTO_METER, METERS
from ml.names import MUSIC_STYLES

log = logging.getLogger(__name__)

AUDIO_SUFFIX = ".ogg"
Style = Literal[MUSIC_STYLES]  # the choices Discord offers; the service checks what is loaded
MeterChoice = Literal[(AUTO_METER, *METERS)]
ContinueStyle = Literal[(AUTO_STYLE, *MUSIC_STYLES)]
PAYLOAD_TOO_LARGE = 413  # Discord: 40005, request entity too large


class Music(commands.Cog):
    """Piano music."""

    def __init__(self, service: SongService, settings: Settings, shelf: PieceShelf) -> None:
        self.service = service
        self.settings = settings
        self.shelf = shelf  # what /play and ▶ Play in voice take delivered pieces from
        s = settings
        for command in (self.midi, self.continue_piece):
            declare_range(command, "seconds", s.music.seconds_min, s.music.seconds_max)
            declare_range(command, "temperature", s.sampling.temperature_min, s.sampling.temperature_max)
            declare_range(command, "seed", 0, s.sampling.seed_max)
        self.session: aiohttp.ClientSession | None = None
        # discord.py takes context menus from the tree, not from cogs: the client adds these.
        self.context_menus = [
            app_commands.ContextMenu(name="Continue this MIDI", callback=self.continue_message),
        ]

    async def cog_load(self) -> None:
        self.session = aiohttp.ClientSession()  # attachments only: bounded, off the bot's own session

    async def cog_unload(self) -> None:
        if self.session is not None:
            await self.session.close()

    @app_commands.command(description="Compose a short piece (MIDI, audio preview, piano roll)")
    @app_commands.describe(
        style="folk tunes, Bach chorales, or piano pieces (default folk)",
        seconds="Length in seconds (it ends at the nearest phrase end)",
        meter="auto (the default): the meter the music falls into; or bars of 4/4, 3/4 or 6/8",
        temperature="Low is calm, high is adventurous",
        seed="Number that makes a result repeatable",
    )
    async def midi(
        self,
        interaction: discord.Interaction,
        style: Style | None = None,
        seconds: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        meter: MeterChoice | None = None,
    ) -> None:
        options = MidiOptions(seconds=seconds, temperature=temperature, seed=seed, style=style, meter=meter)
        await self.run(interaction, options)

    @app_commands.command(name="continue", description="Continue your MIDI file: the model plays on from it")
    @app_commands.describe(
        file="A MIDI file (.mid): the music starts from its first bars",
        style="Which model plays on; auto (the default) picks the style your piece sounds like",
        seconds="How long to play on",
        temperature="Low is calm, high is adventurous",
        seed="Number that makes a result repeatable",
    )
    async def continue_piece(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        style: ContinueStyle | None = None,
        seconds: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> None:
        options = ContinueOptions(
            filename=file.filename,
            size=file.size,
            seconds=seconds,
            temperature=temperature,
            seed=seed,
            style=style,
        )
        await self._continue(interaction, file, options)

    async def continue_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The message menu's "Continue this MIDI": /continue on its first MIDI attachment,
        every option at its default."""
        file = first_midi(message.attachments)
        if file is None:
            await send_private(
                interaction, "That message has no MIDI file (.mid or .midi) to continue; pick one that does."
            )
            return
        await self._continue(interaction, file, ContinueOptions(filename=file.filename, size=file.size))

    async def _continue(
        self, interaction: discord.Interaction, file: discord.Attachment, options: ContinueOptions
    ) -> None:
        """One /continue request: the file is downloaded (bounded) only once it is admitted."""

        async def fetch() -> bytes:
            return await download_midi(self.session, self.settings, file)

        await run_request(interaction, self.service, options, self.send, fetch)

    async def run(self, interaction: discord.Interaction, options: MidiOptions | ContinueOptions) -> None:
        """A request whose music is at hand: /midi, or a reroll of either command."""
        await run_request(interaction, self.service, options, self.send)

    async def send(self, interaction: discord.Interaction, reply: MidiReply) -> None:
        """The piece with its audio preview if the upload limit allows, else without it.

        The limit comes with the interaction (it depends on the server's boost level); a
        413 despite it gets one retry without the audio.
        """
        limit = interaction.filesize_limit
        with_audio = sum(len(a.data) for a in reply.attachments) <= limit
        try:
            await self._post(interaction, reply, with_audio)
        except discord.HTTPException as exc:
            if exc.status != PAYLOAD_TOO_LARGE or not with_audio:
                raise
            log.info("request %d: upload refused (%s); sending it without the audio", reply.request_id, exc)
            await self._post(interaction, reply, with_audio=False)
        self._shelve(interaction, reply)

    def _shelve(self, interaction: discord.Interaction, reply: MidiReply) -> None:
        ogg = next((a.data for a in reply.attachments if a.filename.endswith(AUDIO_SUFFIX)), None)
        if ogg is not None:
            title = f"piece #{reply.request_id} ({reply.options.style})"
            self.shelf.put(
                ShelvedPiece(reply.request_id, title, interaction.user.id, interaction.guild_id, ogg)
            )

    async def _post(self, interaction: discord.Interaction, reply: MidiReply, with_audio: bool) -> None:
        attachments: list[Attachment] = [
            a for a in reply.attachments if with_audio or not a.filename.endswith(AUDIO_SUFFIX)
        ]
        view = RerollView(reply.options, self.run, self.settings)
        if playable_here(interaction):
            view.add_item(PlayButton(reply.request_id))
        message = await interaction.followup.send(
            midi_message(reply, with_audio),
            files=[as_file(a.filename, a.data) for a in attachments],
            view=view,
            allowed_mentions=NO_PINGS,
            wait=True,
        )
        view.attach(message, interaction.client.live_messages)
