"""`python -m bot` runs the Discord bot; `python -m bot console` the same commands locally."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import aiohttp
import discord
from pydantic import ValidationError

from bot.client import create_bot
from bot.config import Settings
from bot.console import run_console
from bot.service import SongService
from ml.errors import BalladeerError

log = logging.getLogger("bot")

NO_TOKEN = """No Discord token is set.
Put it in a .env file beside where you run the bot (copy .env.example) as
    DISCORD_TOKEN=your-bot-token
or export DISCORD_TOKEN in the environment.
To try the bot without Discord, run:  python -m bot console"""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise BalladeerError(f"Invalid settings ({problems}). See .env.example.") from None


def _on_signals(callback) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, callback)


async def run_discord(settings: Settings) -> None:
    bot = create_bot(settings)
    _on_signals(lambda: asyncio.ensure_future(bot.close()))
    async with bot:
        await bot.start(settings.discord_token.get_secret_value())


INTERRUPTED = 130  # the shell's status for a program stopped by Ctrl-C


async def console_main(settings: Settings, commands: list[str]) -> int:
    """The console until /quit or end of input (0), or Ctrl-C (130, at once: a request in
    progress is marked interrupted before the exit)."""
    service = await SongService.start(settings)
    task = asyncio.current_task()
    _on_signals(task.cancel)
    try:
        await run_console(service, settings.console_output_dir, commands)
    except asyncio.CancelledError:
        print("\ninterrupted", file=sys.stderr)
        await service.close(grace_seconds=0)
        return INTERRUPTED
    await service.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Balladeer's Discord bot.")
    sub = parser.add_subparsers(dest="mode")
    console = sub.add_parser("console", help="the bot's commands in this terminal, no Discord needed")
    console.add_argument(
        "-c", "--command", action="append", default=[], help="run this command and exit (repeatable)"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLogger().level))
        if args.mode == "console":
            return asyncio.run(console_main(settings, args.command))
        if settings.discord_token is None or not settings.discord_token.get_secret_value():
            print(NO_TOKEN, file=sys.stderr)
            return 2
        asyncio.run(run_discord(settings))
    except discord.LoginFailure:
        print("error: Discord rejected the token; check DISCORD_TOKEN.", file=sys.stderr)
        return 2
    except (aiohttp.ClientError, discord.GatewayNotFound) as exc:
        print(f"error: cannot reach Discord ({exc}); check the network and try again.", file=sys.stderr)
        return 2
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
