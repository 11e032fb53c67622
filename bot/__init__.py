"""Balladeer's Discord bot: slash commands over the lyrics and piano models."""

from bot.client import create_bot

__all__ = ["create_bot"]
