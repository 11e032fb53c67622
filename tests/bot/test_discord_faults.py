"""The bot under bursts, faults and hostile input, against a fake Discord as strict as the real one."""

import asyncio
import sqlite3
import threading
import time
from collections import Counter

import pytest

from bot import create_bot
from tests.bot.conftest import bot_env, run_bot
from tests.bot.fake_discord import EPHEMERAL, Failure


def _rows(settings) -> list[tuple]:
    with sqlite3.connect(settings.storage.url) as db:
        return db.execute("SELECT id, user_id, status, error FROM requests ORDER BY id").fetchall()


def _statuses(settings) -> list[str]:
    return [row[2] for row in _rows(settings)]


def _private_text(call) -> str:
    data = call.json.get("data", call.json)
    assert data["flags"] & EPHEMERAL
    return data["content"]


async def _eventually(condition, timeout: float = 10.0) -> bool:
    """Whether `condition()` holds within `timeout` seconds (rows are written after the reply)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def _private_error(fake, interaction) -> str:
    """The private text the user got, as the first answer or as a followup."""
    return await fake.private_answer(interaction)


async def test_a_burst_from_many_users_never_overruns_a_cap(discord_env):
    fake, bot, _ = discord_env
    settings = bot.service.settings
    settings.queue.max, settings.queue.max_per_user, settings.queue.batch_max = 10, 3, 4
    release = threading.Event()
    real = bot.service.lyrics.generate

    def held_generate(requests):
        release.wait(30)  # nothing finishes during the burst, so every place stays taken
        return real(requests)

    bot.service.lyrics.generate = held_generate
    users = [str(100 + i % 20) for i in range(110)]
    sent = await asyncio.gather(
        *(fake.slash("lyrics", user_id=u, user_name=f"u{u}", length=100) for u in users)
    )
    answers = [await fake.callback(i) for i in sent]  # every interaction answered: no silent drop
    accepted = [u for u, a in zip(users, answers, strict=True) if a.json["type"] == 5]
    refused = [a for a in answers if a.json["type"] == 4]
    assert len(accepted) + len(refused) == 110
    assert len(accepted) <= settings.queue.max + settings.queue.batch_max  # waiting + one running batch
    assert max(Counter(accepted).values()) <= settings.queue.max_per_user
    assert all("busy" in _private_text(a) or "in line" in _private_text(a) for a in refused)
    assert await _eventually(lambda: len(_rows(settings)) == len(accepted))  # rows follow the acks
    release.set()
    for interaction, answer in zip(sent, answers, strict=True):
        if answer.json["type"] == 5:
            await fake.followups(interaction)
    assert await _eventually(lambda: set(_statuses(settings)) == {"done"})


async def test_a_burst_from_one_user_respects_the_cooldown(discord_env):
    fake, bot, _ = discord_env
    bot.service.settings.queue.cooldown_seconds = 60
    sent = await asyncio.gather(*(fake.slash("lyrics", length=100) for _ in range(8)))
    kinds = [(await fake.callback(i)).json["type"] for i in sent]
    assert kinds.count(5) == 1 and kinds.count(4) == 7


@pytest.mark.parametrize("limit", [0, -1, 10**9])
async def test_history_limit_is_checked_whatever_discord_was_told(discord_env, limit):
    fake, _, _ = discord_env
    text = await _private_error(fake, await fake.slash("history", limit=limit))
    assert "limit must be between 1 and 25" in text


async def test_an_overlong_artist_gets_a_short_private_error(discord_env):
    fake, _, _ = discord_env
    text = await _private_error(fake, await fake.slash("lyrics", artist="x" * 3000))
    assert text == "artist can be at most 100 characters long (got 3,000)."
    unknown = await _private_error(fake, await fake.slash("lyrics", artist="q" * 100))
    assert unknown.startswith("Unknown artist 'qqq") and len(unknown) < 120
    assert unknown.endswith("/artists lists every artist I know.")
    assert fake.errors_sent == []  # Discord refused nothing


async def test_mistyped_option_values_are_answered_privately(discord_env):
    fake, _, _ = discord_env
    for options in (
        [{"name": "temperature", "type": 10, "value": "hot"}],
        [{"name": "length", "type": 4, "value": "long"}],
    ):
        text = await _private_error(fake, await fake.slash("lyrics", raw_options=options))
        assert "could not be read" in text or "must be a whole number" in text
    user = [{"name": "user", "type": 6, "value": "not-an-id"}]
    assert "could not be read" in await _private_error(fake, await fake.slash("history", raw_options=user))


async def test_an_expired_interaction_is_stored_as_undelivered(discord_env):
    fake, bot, _ = discord_env
    release = threading.Event()
    real = bot.service.lyrics.generate
    bot.service.lyrics.generate = lambda requests: (release.wait(10), real(requests))[1]
    interaction = await fake.slash("lyrics", length=100)
    await fake.callback(interaction)
    fake.expire(interaction)  # the user waited past Discord's 15 minutes
    release.set()
    await fake.wait_for(lambda c: interaction.token in c.path and c.method == "POST")
    assert await _eventually(lambda: _statuses(bot.service.settings) == ["undelivered"])
    assert "10062" in _rows(bot.service.settings)[0][3]


async def test_music_over_the_upload_limit_goes_without_its_audio(discord_env):
    fake, bot, _ = discord_env
    interaction = await fake.slash("midi", seconds=4, seed=3, upload_limit=30_000)
    (followup,) = await fake.followups(interaction)
    assert set(followup.files) == {"song.mid", "piano-roll.png"}
    assert "audio preview is left out" in followup.json["content"]
    assert await _eventually(lambda: _statuses(bot.service.settings) == ["done"])


async def test_a_413_is_retried_once_without_the_audio(discord_env):
    fake, bot, _ = discord_env
    fake.fail_next(Failure("POST", "/webhooks/", 413, 40005))
    interaction = await fake.slash("midi", seconds=4, seed=3)
    sent = await fake.followups(interaction, count=2)
    assert "song.ogg" in sent[0].files and set(sent[1].files) == {"song.mid", "piano-roll.png"}
    assert await _eventually(lambda: _statuses(bot.service.settings) == ["done"])


async def test_a_503_storm_ends_in_bounded_time_with_the_user_told(discord_env):
    fake, bot, _ = discord_env
    bot.service.settings.discord.delivery_timeout_seconds = 1.5
    fake.fail_next(Failure("POST", "/webhooks/", 503, 0, times=2))
    interaction = await fake.slash("lyrics", length=100)
    await fake.callback(interaction)
    started = time.monotonic()
    told = await fake.wait_for(
        lambda c: interaction.token in c.path and (c.json or {}).get("flags") == EPHEMERAL
    )
    assert told.at - started < 4
    assert "could not be delivered" in told.json["content"] and "/history" in told.json["content"]
    (row,) = _rows(bot.service.settings)
    assert row[2] == "undelivered" and "not accepted within 1.5 s" in row[3]


async def test_buttons_are_disabled_at_their_timeout_and_stale_clicks_answered(discord_env):
    fake, bot, _ = discord_env
    bot.settings.discord.button_timeout_seconds = 0.5
    interaction = await fake.slash("lyrics", length=100)
    (reply,) = await fake.followups(interaction)
    edit = await fake.wait_for(lambda c: c.method == "PATCH" and c.path.endswith(reply.message["id"]))
    buttons = [b for row in edit.json["components"] for b in row["components"]]
    assert buttons and all(b["disabled"] for b in buttons)
    click = await fake.click(reply.message, "Again")
    assert _private_text(await fake.callback(click)) == "This button has expired; run /lyrics again."


async def test_buttons_from_before_a_restart_are_answered(discord_env, bot_settings):
    fake, first, _ = discord_env
    interaction = await fake.slash("midi", seconds=4)
    (reply,) = await fake.followups(interaction)
    await first.close()
    second = create_bot(first.settings, guild_ready_timeout=0.05)
    runner = asyncio.create_task(second.start("test-token"))
    try:
        await asyncio.wait_for(second.wait_until_ready(), 20)
        click = await fake.click(reply.message, "Hotter")
        assert _private_text(await fake.callback(click)) == "This button has expired; run /midi again."
    finally:
        await second.close()
        await runner


async def test_a_second_instance_on_the_same_database_refuses_to_start(discord_env, bot_settings, tmp_path):
    fake, _, _ = discord_env
    interaction = await fake.slash("lyrics", length=100)
    await fake.followups(interaction)
    result = await asyncio.to_thread(run_bot, ["console", "-c", "/about"], bot_env(bot_settings), tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: another Balladeer process is using DATABASE_URL=")
    again = await fake.slash("lyrics", length=100)
    await fake.followups(again)  # the first instance still serves, its history intact
    assert await _eventually(lambda: _statuses(bot_settings) == ["done", "done"])


async def test_a_rate_limited_followup_is_retried_and_delivered(discord_env):
    fake, bot, _ = discord_env
    limited = Failure("POST", "/webhooks/", 429, 0, headers={"Via": "1.1 google"}, retry_after=0.2)
    fake.fail_next(limited)
    interaction = await fake.slash("lyrics", length=100)
    sent = await fake.followups(interaction, count=2)  # refused once, then accepted
    assert [status for _, status, _ in fake.errors_sent] == [429]
    assert sent[-1].json["content"].startswith("🎤 Lyrics")
    assert await _eventually(lambda: _statuses(bot.service.settings) == ["done"])
