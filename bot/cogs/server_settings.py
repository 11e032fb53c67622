"""/settings: what a server's admins choose for it: whether lyrics show profanity, and the
SoundFont its audio previews are played with."""

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.interactions import defer_private, send_private
from bot.rules import DEFAULT_SOUNDFONT
from bot.service import SongService
from bot.storage import GuildSetting

MASKED = "Profanity in lyrics is masked (f***) here, except in age-restricted channels."
SHOWN = "Profanity in lyrics is shown as written in every channel of this server."


class ServerSettings(commands.Cog):
    """Per-server choices, for members who can manage the server."""

    def __init__(self, service: SongService) -> None:
        self.service = service

    @app_commands.command(name="settings", description="This server's choices (Manage Server only)")
    @app_commands.describe(
        profanity="on: lyrics show profanity as written; off: masked (f***)",
        soundfont="The instrument sounds of audio previews (default: the bot's own)",
    )
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)  # a server's own choice
    @app_commands.default_permissions(manage_guild=True)
    async def settings(
        self,
        interaction: discord.Interaction,
        profanity: Literal["on", "off"] | None = None,
        soundfont: str | None = None,
    ) -> None:
        # Discord hides the command from others by default, but a server can change who
        # sees it: the permission is checked here too.
        if not interaction.permissions.manage_guild:
            await send_private(interaction, "Only members who can manage this server can use /settings.")
            return
        await defer_private(interaction)  # the answer waits on the database
        guild_id, admin = interaction.guild_id, interaction.user.id
        if profanity is not None:
            await self.service.set_profanity(guild_id, profanity, admin)
        if soundfont is not None:
            await self.service.set_soundfont(guild_id, soundfont, admin)
        await send_private(interaction, describe(await self.service.setting(guild_id)))

    @settings.autocomplete("soundfont")
    async def soundfont_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = str(current).casefold()  # a client can send any JSON type
        names = [DEFAULT_SOUNDFONT, *self.service.settings.music.soundfonts()]
        limit = self.service.settings.discord.autocomplete_choices
        return [app_commands.Choice(name=n, value=n) for n in names if typed in n.casefold()][:limit]


def describe(setting: GuildSetting) -> str:
    sounds = f"the {setting.soundfont} SoundFont" if setting.soundfont else "the default SoundFont"
    return f"{SHOWN if setting.profanity else MASKED}\nAudio previews are played with {sounds}."
