"""What every slash command and button does with an interaction: who asked, acknowledge
at once, run the request through the service, reply, and turn errors into private text."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Awaitable, Callable

import discord

from bot.formatting import chunk_message
from bot.service import LyricsOptions, MidiOptions, Reply, Requester, SongService
from ml.errors import BalladeerError

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()


def requester_of(interaction: discord.Interaction) -> Requester:
    user = interaction.user
    return Requester(user.id, user.display_name, interaction.guild_id, interaction.channel_id)


async def send_error(interaction: discord.Interaction, message: str) -> None:
    """A private (ephemeral) error, whether or not the interaction was acknowledged."""
    if not interaction.response.is_done():
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_PINGS)
        return
    with contextlib.suppress(discord.HTTPException):  # else the public "thinking…" holds it
        await interaction.delete_original_response()
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_PINGS)


async def send_private(interaction: discord.Interaction, text: str) -> None:
    """Text only the user sees, in as many messages as it takes."""
    chunks = chunk_message(text) or ["(nothing to show)"]
    await interaction.response.send_message(chunks[0], ephemeral=True, allowed_mentions=NO_PINGS)
    for chunk in chunks[1:]:
        await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=NO_PINGS)


Deliver = Callable[[discord.Interaction, Reply], Awaitable[None]]


async def run_request(
    interaction: discord.Interaction,
    service: SongService,
    options: LyricsOptions | MidiOptions,
    deliver: Deliver,
) -> None:
    """Check, acknowledge, queue, wait, then `deliver(interaction, reply)`."""
    requester = requester_of(interaction)
    try:
        service.check(requester, options)
    except BalladeerError as exc:
        await send_error(interaction, str(exc))
        return
    await interaction.response.defer(thinking=True)
    try:
        ticket = await service.submit(requester, options)
        if ticket.position > 0:
            await interaction.edit_original_response(content=f"⏳ You're #{ticket.position} in line…")
        reply = await ticket.reply()
    except BalladeerError as exc:  # lost a race for the last place in line, or shut down
        await send_error(interaction, str(exc))
        return
    await deliver(interaction, reply)


def as_file(filename: str, data: bytes) -> discord.File:
    return discord.File(io.BytesIO(data), filename=filename)
