"""`python -m bot` runs the Discord bot; `python -m bot console` the same commands locally;
`python -m bot db` copies and checks request histories.

The command line is parsed before anything heavy is imported, so `--help` answers at once;
the models load only once the settings are known to be usable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from ml.errors import BalladeerError

log = logging.getLogger("bot")

USAGE_ERROR = 2
INTERRUPTED = 130  # the shell's status for a program stopped by Ctrl-C
NO_TOKEN = """No Discord token is set.
Put it in a .env file beside where you run the bot (copy .env.example) as
    DISCORD_TOKEN=your-bot-token
or export DISCORD_TOKEN in the environment.
To try the bot without Discord, run:  python -m bot console"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Balladeer's Discord bot.")
    sub = parser.add_subparsers(dest="mode")
    console = sub.add_parser("console", help="the bot's commands in this terminal, no Discord needed")
    console.add_argument(
        "-c", "--command", action="append", default=[], help="run this command and exit (repeatable)"
    )
    db = sub.add_parser("db", help="copy or check a request history (SQLite or PostgreSQL)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    copy = db_sub.add_parser(
        "copy",
        help="copy every row of SOURCE_URL into TARGET_URL (safe to rerun: rows copied before are skipped)",
    )
    copy.add_argument("source_url", metavar="SOURCE_URL", help="a SQLite file, sqlite:///… or postgresql://…")
    copy.add_argument("target_url", metavar="TARGET_URL", help="created and migrated if new")
    check = db_sub.add_parser("check", help="the schema version and row counts of URL, read only")
    check.add_argument("url", metavar="URL")
    return parser


def db_main(args: argparse.Namespace) -> int:
    """`db copy` and `db check`: counts on stdout, a problem as one `error:` line."""
    from bot.db import check_history, copy_history
    from bot.storage import DatabaseUrl

    if args.db_command == "check":
        for line in asyncio.run(check_history(args.url)):
            print(line)
        return 0
    source, target = DatabaseUrl.parse(args.source_url).shown, DatabaseUrl.parse(args.target_url).shown

    def progress(rows: int) -> None:
        print(f"\r{rows:,} rows read", end="", file=sys.stderr, flush=True)

    shown = sys.stderr.isatty()
    count = asyncio.run(copy_history(args.source_url, args.target_url, progress if shown else None))
    if shown:
        print(file=sys.stderr)
    print(f"copied {count.copied:,} rows from {source} to {target} ({count.already_there:,} there already)")
    if count.server_settings:
        print(f"copied the /settings of {count.server_settings:,} servers")
    return 0


def load_settings():
    from pydantic import ValidationError

    from bot.config import Settings

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


def _tell(text: str) -> None:
    """A line for the person at the terminal, apart from the output."""
    print(text, file=sys.stderr, flush=True)


def discord_main(settings) -> int:
    """The bot on Discord until it is stopped; Discord's refusals are one `error:` line."""
    import aiohttp
    import discord

    from bot.client import create_bot

    async def run() -> None:
        bot = create_bot(settings)
        _on_signals(lambda: asyncio.ensure_future(bot.close()))
        async with bot:
            await bot.start(settings.discord.token.get_secret_value())

    try:
        asyncio.run(run())
    except discord.LoginFailure:
        print("error: Discord rejected the token; check DISCORD_TOKEN.", file=sys.stderr)
        return USAGE_ERROR
    except (aiohttp.ClientError, discord.GatewayNotFound) as exc:
        print(f"error: cannot reach Discord ({exc}); check the network and try again.", file=sys.stderr)
        return USAGE_ERROR
    return 0


async def console_main(settings, commands: list[str]) -> int:
    """The console until /quit or end of input (0), or Ctrl-C (130, at once: a request in
    progress is marked interrupted before the exit)."""
    from bot.console import run_console
    from bot.service import SongService

    service = await SongService.start(settings, announce=_tell)
    task = asyncio.current_task()
    _on_signals(task.cancel)
    try:
        await run_console(service, settings.console.output_dir, commands)
    except asyncio.CancelledError:
        print("\ninterrupted", file=sys.stderr)
        await service.close(grace_seconds=0)
        return INTERRUPTED
    await service.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.mode == "db":
            logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
            return db_main(args)
        settings = load_settings()
        # The console is quiet unless asked (LOG_LEVEL); the Discord bot logs what it does.
        level = settings.monitoring.log_level or ("WARNING" if args.mode == "console" else "INFO")
        logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLogger().level))
        if args.mode == "console":
            return asyncio.run(console_main(settings, args.command))
        if settings.discord.token is None or not settings.discord.token.get_secret_value():
            print(NO_TOKEN, file=sys.stderr)
            return USAGE_ERROR
        return discord_main(settings)
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
