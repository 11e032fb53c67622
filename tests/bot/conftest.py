"""What the bot tests share: the environment of a bot subprocess on the tiny test models,
and the real bot running against the loopback fake Discord."""

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.bot.fake_discord import GUILD_ID, FakeDiscord


def bot_env(settings) -> dict[str, str]:
    """Environment for `python -m bot` on these settings, with no .env and no cooldown."""
    return {
        "PATH": "/usr/bin:/bin",
        "LYRICS_CHECKPOINT": str(settings.lyrics.checkpoint),
        **{f"MUSIC_{style.upper()}_CHECKPOINT": str(p) for style, p in settings.music.checkpoints().items()},
        "DATABASE_URL": str(settings.storage.url),
        "CONSOLE_OUTPUT_DIR": str(settings.console.output_dir),
        "COOLDOWN_SECONDS": "0",
        "MIDI_SECONDS_MIN": "1",
        "OMP_NUM_THREADS": "1",
    }


def run_bot(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` to its end (bounded: a hang fails the test), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


@pytest.fixture
async def discord_env(bot_settings):
    """(fake Discord, the bot logged in to it, the host of every HTTP request the bot made)."""
    fake = FakeDiscord()
    hosts: list[str] = []

    async def record_host(session, context, params):
        hosts.append(params.url.host)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(record_host)
    settings = bot_settings.replaced(dev_guild_id=int(GUILD_ID))
    async with fake.serving(settings, http_trace=trace) as bot:
        yield fake, bot, hosts


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """One real PostgreSQL server for the whole run."""
    from tests.postgres_server import start_server

    server = start_server(tmp_path_factory.mktemp("pg"))
    yield server
    server.server.cleanup()


@pytest.fixture
def postgres_database(postgres):
    """A fresh, empty database on that server: (its name, its URL)."""
    name = postgres.new_database()
    yield name, postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each backend in turn: the contract both must keep."""
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    return request.getfixturevalue("postgres_database")[1]
