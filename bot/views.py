"""The Again / Hotter / Cooler buttons under every answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import discord

from bot.config import Settings
from bot.service import LyricsOptions, MidiOptions

Rerun = Callable[[discord.Interaction, LyricsOptions | MidiOptions], Awaitable[None]]
BUTTON_TIMEOUT_S = 15 * 60


class RerollView(discord.ui.View):
    """Runs the same request again, by whoever clicks: new seed, or a temperature step."""

    def __init__(
        self, options: LyricsOptions | MidiOptions, rerun: Rerun, step: float, low: float, high: float
    ) -> None:
        super().__init__(timeout=BUTTON_TIMEOUT_S)
        self.options = options
        self.rerun = rerun
        self.step, self.low, self.high = step, low, high
        self.hotter.disabled = options.temperature >= high
        self.cooler.disabled = options.temperature <= low

    @classmethod
    def for_settings(
        cls, options: LyricsOptions | MidiOptions, rerun: Rerun, settings: Settings
    ) -> RerollView:
        """Buttons that step the temperature by the configured amount, within the bounds."""
        return cls(
            options,
            rerun,
            settings.temperature_step,
            settings.lyrics_temperature_min,
            settings.lyrics_temperature_max,
        )

    def _with_temperature(self, delta: float) -> LyricsOptions | MidiOptions:
        temperature = round(min(max(self.options.temperature + delta, self.low), self.high), 2)
        return replace(self.options, temperature=temperature, seed=None)

    @discord.ui.button(label="Again", emoji="🔁", style=discord.ButtonStyle.secondary, custom_id="again")
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.rerun(interaction, replace(self.options, seed=None))

    @discord.ui.button(label="Hotter", emoji="🔥", style=discord.ButtonStyle.secondary, custom_id="hotter")
    async def hotter(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.rerun(interaction, self._with_temperature(self.step))

    @discord.ui.button(label="Cooler", emoji="🧊", style=discord.ButtonStyle.secondary, custom_id="cooler")
    async def cooler(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.rerun(interaction, self._with_temperature(-self.step))
