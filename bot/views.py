"""The Again / Hotter / Cooler (and, for lyrics in an artist's style, Stronger style)
buttons under every answer, what a stale one says, and the ▶ Play in voice button under
pieces.

A live `RerollView` answers its buttons until it times out; then it disables them on the
message. A click that no live view holds (after the timeout, or after a restart) reaches
`ExpiredButton`, the persistent handler on the `reroll:` custom_id prefix, which answers
privately instead of leaving the user with "This interaction failed".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

import discord

from bot.config import Settings
from bot.interactions import NO_PINGS, report_error
from bot.requests import LyricsOptions, Options
from bot.rules import stepped_style, stepped_temperature

log = logging.getLogger(__name__)

Rerun = Callable[[discord.Interaction, Options], Awaitable[None]]
CUSTOM_ID_PREFIX = "reroll"


class RerollView(discord.ui.View):
    """Runs the same request again, by whoever clicks: new seed, a temperature step, or a
    stronger style."""

    def __init__(self, options: Options, rerun: Rerun, settings: Settings) -> None:
        super().__init__(timeout=settings.discord.button_timeout_seconds)
        self.options = options
        self.rerun = rerun
        self.settings = settings
        buttons = {
            "again": self.again,
            "hotter": self.hotter,
            "cooler": self.cooler,
            "stronger": self.stronger,
        }
        for action, button in buttons.items():
            button.custom_id = f"{CUSTOM_ID_PREFIX}:{options.command}:{action}"
        self.hotter.disabled = options.temperature >= settings.sampling.temperature_max
        self.cooler.disabled = options.temperature <= settings.sampling.temperature_min
        if isinstance(options, LyricsOptions) and options.artist:
            self.stronger.disabled = options.style >= settings.lyrics.style_max
        else:
            self.remove_item(self.stronger)  # no artist, no style to strengthen
        self.message: discord.Message | discord.WebhookMessage | None = None
        self.live_messages: set[int] = set()

    def attach(self, message: discord.Message | discord.WebhookMessage, live_messages: set[int]) -> None:
        """The message these buttons sit under, so the timeout can disable them there;
        `live_messages` (the bot's) holds the ids of messages whose buttons still answer."""
        self.message, self.live_messages = message, live_messages
        live_messages.add(message.id)

    async def on_timeout(self) -> None:
        if self.message is None:
            return
        self.live_messages.discard(self.message.id)
        for item in self.children:
            item.disabled = not isinstance(item, PlayButton)  # playing a piece never expires
        try:
            await self.message.edit(view=self, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:  # message deleted, or the token expired
            log.info("could not disable the buttons of message %d: %s", self.message.id, exc)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await report_error(interaction, error)

    def _with_temperature(self, steps: int) -> Options:
        temperature = stepped_temperature(self.settings, self.options.temperature, steps)
        return replace(self.options, temperature=temperature, seed=None)

    @discord.ui.button(label="Again", emoji="🔁", style=discord.ButtonStyle.secondary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.rerun(interaction, replace(self.options, seed=None))

    @discord.ui.button(label="Hotter", emoji="🔥", style=discord.ButtonStyle.secondary)
    async def hotter(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.rerun(interaction, self._with_temperature(1))

    @discord.ui.button(label="Cooler", emoji="🧊", style=discord.ButtonStyle.secondary)
    async def cooler(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.rerun(interaction, self._with_temperature(-1))

    @discord.ui.button(label="Stronger style", emoji="🎨", style=discord.ButtonStyle.secondary)
    async def stronger(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        style = stepped_style(self.settings, self.options.style)
        await self.rerun(interaction, replace(self.options, style=style, seed=None))


class ArtistChoiceView(discord.ui.View):
    """One button per artist an ambiguous name could mean: a click writes the same request
    in that artist's style."""

    def __init__(
        self, options: LyricsOptions, candidates: list[str], rerun: Rerun, settings: Settings
    ) -> None:
        super().__init__(timeout=settings.discord.button_timeout_seconds)
        self.options = options
        self.rerun = rerun
        for candidate in candidates:
            button = discord.ui.Button(label=candidate[:80], style=discord.ButtonStyle.primary)
            button.callback = self._choose(candidate)
            self.add_item(button)

    def _choose(self, artist: str) -> Callable[[discord.Interaction], Awaitable[None]]:
        async def choose(interaction: discord.Interaction) -> None:
            await self.rerun(interaction, replace(self.options, artist=artist))

        return choose

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await report_error(interaction, error)


class ExpiredButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"{CUSTOM_ID_PREFIX}:(?P<command>lyrics|midi|continue):(?P<action>again|hotter|cooler|stronger)",
):
    """Answers a reroll click that no live view holds: the buttons have expired."""

    def __init__(self, button: discord.ui.Button, command: str) -> None:
        super().__init__(button)
        self.command = command

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match, /
    ) -> ExpiredButton:
        return cls(item, match["command"])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.message is None or interaction.message.id not in interaction.client.live_messages

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"This button has expired; run /{self.command} again.", ephemeral=True, allowed_mentions=NO_PINGS
        )


class PlayButton(discord.ui.DynamicItem[discord.ui.Button], template=r"play:(?P<request_id>[0-9]{1,20})"):
    """▶ Play in voice under a piece: queues it in the clicker's voice channel. Its number
    is in the custom id, so the button works for as long as the message lasts."""

    def __init__(self, request_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Play in voice",
                emoji="▶️",
                style=discord.ButtonStyle.primary,
                custom_id=f"play:{request_id}",
            )
        )
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match, /
    ) -> PlayButton:
        return cls(int(match["request_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.client.listening.play_button(interaction, self.request_id)
        except Exception as exc:  # a dynamic item has no view to report it
            await report_error(interaction, exc)
