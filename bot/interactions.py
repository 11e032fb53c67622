"""What every slash command and button does with an interaction: who asked, acknowledge
at once, run the request through the service, deliver the reply, and the one place that
turns any error into a private answer (`report_error`)."""

from __future__ import annotations

import contextlib
import io
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace

import discord
from discord import app_commands

from bot.formatting import chunk_message, fit
from bot.requests import Options, Reply, Requester, ServiceError
from bot.service import Exchange, SongService
from ml.errors import BalladeerError, shorten
from ml.text.clean import without_format_chars

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
GENERIC_ERROR = "Something went wrong on my side (error id `{}`); it has been logged. Please try again."


class MalformedOptions(app_commands.AppCommandError):
    """A payload whose option values do not parse as their declared types."""


def requester_of(interaction: discord.Interaction) -> Requester:
    """Who asked, and where: profanity is shown as written in an age-restricted channel
    (the server's own choice is the service's to read)."""
    user = interaction.user
    name = without_format_chars(user.display_name)  # shown in /history: no bidi tricks
    return Requester(
        user.id, name, interaction.guild_id, interaction.channel_id, age_restricted(interaction.channel)
    )


def age_restricted(channel: object) -> bool:
    """A channel marked age-restricted, or a thread in one (threads carry no flag of their
    own: their parent's holds). DMs have no such flag."""
    if isinstance(channel, discord.Thread):
        channel = channel.parent
    return bool(getattr(channel, "nsfw", False))


def user_message(error: BaseException, echo_chars: int) -> str | None:
    """The text for an error the user can act on (quoting at most `echo_chars` of what they
    sent); None for a bug."""
    original = getattr(error, "original", error)  # CommandInvokeError wraps what the command raised
    if isinstance(original, BalladeerError):
        return str(original)
    if isinstance(error, app_commands.TransformerError):
        return (
            f"The value {shorten(str(error.value), echo_chars)!r} does not fit that option; please check it."
        )
    if isinstance(
        error, MalformedOptions | app_commands.CheckFailure | app_commands.CommandSignatureMismatch
    ):
        return str(error)
    return None


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer any failure privately: a user's mistake with its text, a bug with a short id
    that is also in the log line. Used by the command tree, every view and the adapters."""
    message = user_message(error, interaction.client.settings.discord.echo_chars)
    if message is None:
        error_id = secrets.token_hex(4)
        command = interaction.command.name if interaction.command else interaction.data
        log.error("error %s in %s", error_id, command, exc_info=getattr(error, "original", error))
        message = GENERIC_ERROR.format(error_id)
    try:
        await send_private_error(interaction, fit(message))
    except discord.HTTPException as exc:  # e.g. the interaction expired: nobody left to tell
        log.warning("could not report an error to the user: %s", exc)


async def send_private_error(interaction: discord.Interaction, message: str) -> None:
    """A private (ephemeral) message, whether or not the interaction was acknowledged."""
    if not interaction.response.is_done():
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_PINGS)
        return
    with contextlib.suppress(discord.HTTPException):  # else the public "thinking…" stays
        await interaction.delete_original_response()
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_PINGS)


async def send_private(interaction: discord.Interaction, text: str) -> None:
    """Text only the user sees, in as many messages as it takes (after a private
    deferral, the first replaces its "thinking…")."""
    chunks = chunk_message(text) or ["(nothing to show)"]
    if not interaction.response.is_done():
        await interaction.response.send_message(chunks[0], ephemeral=True, allowed_mentions=NO_PINGS)
        chunks = chunks[1:]
    for chunk in chunks:
        await interaction.followup.send(chunk, ephemeral=True, allowed_mentions=NO_PINGS)


async def defer_private(interaction: discord.Interaction) -> None:
    """Acknowledge at once, privately, before anything that may wait on the database."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)


Send = Callable[[discord.Interaction, Reply], Awaitable[None]]


async def run_request(
    interaction: discord.Interaction,
    service: SongService,
    options: Options,
    send: Send,
    fetch: Callable[[], Awaitable[bytes]] | None = None,
) -> None:
    """One request through `SongService.handle`, with this interaction's ways to answer:
    a refusal before the acknowledgement is a private reply that cost nothing; one after
    it replaces the "thinking…" message. Bugs propagate to the caller's error handler.
    """

    async def acknowledge() -> None:
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True)

    async def queued(position: int) -> None:
        try:
            await interaction.edit_original_response(content=f"⏳ You're #{position} in line…")
        except discord.HTTPException as exc:  # only a progress note; the answer still comes
            log.info("could not show the place in line: %s", exc)

    exchange = Exchange(acknowledge, lambda reply: send(interaction, reply), fetch, queued)
    try:
        await service.handle(requester_of(interaction), options, exchange)
    except ServiceError as exc:
        await report_error(interaction, exc)


def as_file(filename: str, data: bytes) -> discord.File:
    return discord.File(io.BytesIO(data), filename=filename)


def declare_range(command: app_commands.Command, option: str, low: float, high: float) -> None:
    """Tell Discord an option's bounds (a length for text) from the settings.

    discord.py reads ranges from annotations when the class is defined, before settings
    exist, and has no public setter; this is the one place that reaches in. The cog's
    command is its own copy, so the class stays untouched. The service checks the bounds
    again whatever Discord was told.
    """
    command._params[option] = replace(command._params[option], min_value=low, max_value=high)
