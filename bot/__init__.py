"""Balladeer's Discord bot: slash commands over the lyrics and piano models.

`bot.create_bot` is imported on first use, so `python -m bot --help` starts without
loading discord.py and torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_bot"]


def __getattr__(name: str) -> Any:
    if name == "create_bot":
        from bot.client import create_bot

        return create_bot
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
