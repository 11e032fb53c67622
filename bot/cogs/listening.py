"""/play, /skip and the "Play in voice" button and message menu: pieces played together in
a voice channel, through each server's listening queue (shown by /queue)."""

from __future__ import annotations

import logging

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.download import download_midi, first_midi
from bot.interactions import NO_PINGS
from bot.jukebox import GuildPlayer, Jukebox, missing_voice_libraries
from bot.listening import Track, VoiceRefused
from bot.midi_reader import render_preview_isolated
from bot.piece_shelf import PieceShelf, ShelvedPiece
from bot.rules import display_name
from bot.service import SongService
from bot.voice_audio import opus_packets
from ml.errors import DataError

log = logging.getLogger(__name__)

MENU_HINT = "use ▶ Play in voice under its message, or the message menu Apps → Play in voice"


def _track(piece: ShelvedPiece, requester_id: int) -> Track:
    return Track(piece.title, requester_id, opus_packets(piece.ogg))


def clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"


class Listening(commands.Cog):
    """Playing pieces in voice channels."""

    def __init__(self, service: SongService, settings: Settings, shelf: PieceShelf) -> None:
        self.service = service
        self.settings = settings
        self.shelf = shelf
        self.jukebox = Jukebox(settings.voice)
        self.session: aiohttp.ClientSession | None = None
        # discord.py takes context menus from the tree, not from cogs: the client adds these.
        menu = app_commands.ContextMenu(name="Play in voice", callback=self.play_message)
        menu.allowed_contexts = app_commands.AppCommandContext(
            guild=True,
            dm_channel=False,
            private_channel=False,  # unset would take the tree's
        )
        self.context_menus = [menu]

    async def cog_load(self) -> None:
        self.session = aiohttp.ClientSession()  # attachments only: bounded, off the bot's own session

    async def cog_unload(self) -> None:
        await self.jukebox.close()
        if self.session is not None:
            await self.session.close()

    # -- commands -----------------------------------------------------------------------
    @app_commands.command(description="Play a piece in your voice channel (default: your latest piece)")
    @app_commands.describe(piece="The piece's number (#12 in its reply and /history); default: your latest")
    @app_commands.rename(piece="id")  # `/play [id]`, as the number is shown
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    async def play(
        self, interaction: discord.Interaction, piece: app_commands.Range[int, 1] | None = None
    ) -> None:
        channel = self.voice_channel_for(interaction)
        shelved = self._shelved(interaction, piece)
        await interaction.response.defer(thinking=True)
        await self._queue(interaction, channel, _track(shelved, interaction.user.id))

    @app_commands.command(description="Skip the piece playing in voice (yours, or by a vote of listeners)")
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    async def skip(self, interaction: discord.Interaction) -> None:
        self._in_a_server_with_the_bot(interaction)
        player = self.jukebox.player(interaction.guild_id)
        if player is None or player.queue.playing is None:
            raise VoiceRefused("Nothing is playing in voice here.")
        track = player.queue.playing
        user = interaction.user
        if track.requester_id == user.id or interaction.permissions.move_members:
            player.skip()
            await interaction.response.send_message(
                f"⏭ {display_name(self.settings, user.display_name)} skipped **{track.title}**.",
                allowed_mentions=NO_PINGS,
            )
            return
        listeners = player.listeners()
        if user.id not in listeners:
            raise VoiceRefused(f"Join {player.channel.mention} to vote to skip what plays there.")
        vote = player.queue.vote_to_skip(user.id, listeners)
        if vote.passed:
            player.skip()
            text = f"⏭ Skipped **{track.title}** by a vote of listeners ({vote.votes} of {len(listeners)})."
        else:
            text = f"🗳 {vote.votes} of {vote.needed} votes to skip **{track.title}**."
        await interaction.response.send_message(text, allowed_mentions=NO_PINGS)

    async def play_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The message menu's "Play in voice": the message's first MIDI file, rendered whole."""
        channel = self.voice_channel_for(interaction)
        file = first_midi(message.attachments)
        if file is None:
            raise VoiceRefused("That message has no MIDI file (.mid or .midi) to play; pick one that does.")
        await interaction.response.defer(thinking=True)
        title = display_name(self.settings, file.filename)
        await self._queue(interaction, channel, await self._render(interaction, file, title))

    async def play_button(self, interaction: discord.Interaction, request_id: int) -> None:
        """▶ Play in voice under a /midi or /continue reply: the piece from the shelf, else
        from the message's MIDI file."""
        channel = self.voice_channel_for(interaction)
        shelved = self.shelf.get(request_id)
        if shelved is not None:
            await interaction.response.defer(thinking=True)
            await self._queue(interaction, channel, _track(shelved, interaction.user.id))
            return
        message = interaction.message
        file = first_midi(message.attachments) if message is not None else None
        if file is None:
            raise VoiceRefused("That piece's MIDI file is gone from its message; run /midi again.")
        await interaction.response.defer(thinking=True)
        await self._queue(interaction, channel, await self._render(interaction, file, f"piece #{request_id}"))

    def listening_status(self, guild_id: int | None) -> str | None:
        """/queue's lines about the listening queue in this server, if it is playing."""
        player = self.jukebox.player(guild_id) if guild_id is not None else None
        if player is None or player.channel is None:
            return None
        queue = player.queue
        lines = [f"🔊 Listening in {player.channel.mention}:"]
        if queue.playing is not None:
            t = queue.playing
            lines.append(f"▶ **{t.title}** ({clock(player.played_seconds)} / {clock(t.seconds)})")
        for place, t in enumerate(queue.waiting, start=1):
            lines.append(f"{place}. **{t.title}** ({clock(t.seconds)})")
        if queue.playing is None and not queue.waiting:
            lines.append("Nothing left to play.")
        return "\n".join(lines)

    # -- events -------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        player = self.jukebox.player(member.guild.id)
        if player is None:
            return
        if member.id == member.guild.me.id:
            if after.channel is None:
                player.disconnected()
            return
        player.listeners_changed()

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        """After a restart Discord may still show the bot in a voice channel it no longer
        plays in: leave it cleanly."""
        me = guild.me
        if (
            me is not None
            and me.voice is not None
            and me.voice.channel is not None
            and guild.voice_client is None
        ):
            log.info(
                "guild %d: leaving voice channel %d left over from before", guild.id, me.voice.channel.id
            )
            await guild.change_voice_state(channel=None)

    # -- the checks and the queueing ------------------------------------------------------
    def _in_a_server_with_the_bot(self, interaction: discord.Interaction) -> discord.Guild:
        guild = interaction.guild
        if guild is None or interaction.client.get_guild(guild.id) is None:
            raise VoiceRefused(
                "I can only play in voice channels of servers that have added me, not in DMs or where "
                "only you installed me; ask a server admin to add Balladeer to play here."
            )
        return guild

    def voice_channel_for(self, interaction: discord.Interaction) -> discord.VoiceChannel:
        """The caller's voice channel, if the bot may play there now; VoiceRefused says why not."""
        guild = self._in_a_server_with_the_bot(interaction)
        missing = missing_voice_libraries()
        if missing:
            raise VoiceRefused(
                f"Voice is not available on this bot: {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not installed (the operator can "
                'install "discord.py[voice]").'
            )
        state = getattr(interaction.user, "voice", None)
        channel = state.channel if state is not None else None
        if channel is None:
            raise VoiceRefused("Join a voice channel first; I play where you are listening.")
        if isinstance(channel, discord.StageChannel):
            raise VoiceRefused(
                f"{channel.mention} is a stage channel, where I don't play; join a voice channel."
            )
        allowed = channel.permissions_for(guild.me)
        lacking = [name for name, ok in (("Connect", allowed.connect), ("Speak", allowed.speak)) if not ok]
        if lacking:
            raise VoiceRefused(
                f"I don't have the {' and '.join(lacking)} permission in {channel.mention}; "
                "ask a server admin to allow it."
            )
        player = self.jukebox.player(guild.id)
        if player is not None and player.channel is not None and player.channel.id != channel.id:
            raise VoiceRefused(
                f"I'm already playing in {player.channel.mention}; join it to listen, "
                "or wait until its queue has ended."
            )
        full = bool(channel.user_limit) and len(channel.members) >= channel.user_limit
        if player is None and full and not allowed.move_members:
            raise VoiceRefused(f"{channel.mention} is full; I can't join it.")
        return channel

    def _shelved(self, interaction: discord.Interaction, piece: int | None) -> ShelvedPiece:
        user_id = interaction.user.id
        if piece is None:
            latest = self.shelf.latest(user_id)
            if latest is None:
                raise VoiceRefused(
                    "You have no recent piece to play; make one with /midi or /continue, or use "
                    "the message menu Apps → Play in voice on any message with a MIDI file."
                )
            return latest
        shelved = self.shelf.get(piece)
        if shelved is None or (shelved.requester_id != user_id and shelved.guild_id != interaction.guild_id):
            raise VoiceRefused(f"I don't have piece #{piece} at hand any more; {MENU_HINT}.")
        return shelved

    async def _render(self, interaction: discord.Interaction, file: discord.Attachment, title: str) -> Track:
        """A MIDI attachment downloaded and rendered (with this server's SoundFont) under the
        limits /continue uses for reading one."""
        music, voice = self.settings.music, self.settings.voice
        shown = display_name(self.settings, file.filename)
        data = await download_midi(self.session, self.settings, file)
        choice = (await self.service.setting(interaction.guild_id)).soundfont
        soundfont = music.soundfonts().get(choice) if choice else None
        try:
            ogg = await render_preview_isolated(
                data, voice.max_seconds, soundfont, voice.render_timeout_seconds
            )
        except DataError as exc:
            raise VoiceRefused(f"I can't play {shown}: {exc}.") from None
        return Track(title, interaction.user.id, opus_packets(ogg))

    async def _queue(
        self, interaction: discord.Interaction, channel: discord.VoiceChannel, track: Track
    ) -> None:
        player: GuildPlayer = self.jukebox.player_for(channel.guild.id)
        await player.connect(channel)
        place = player.enqueue(track)
        if place == 0:
            text = f"▶ Playing **{track.title}** ({clock(track.seconds)}) in {channel.mention}."
        else:
            wait = player.queue.seconds_before(place, player.played_seconds)
            text = (
                f"➕ Queued **{track.title}** ({clock(track.seconds)}) in {channel.mention}: "
                f"#{place} in line, about {clock(wait)} from now."
            )
        await interaction.followup.send(text, allowed_mentions=NO_PINGS)
