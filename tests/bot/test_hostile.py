"""Hostile files and hostile text, end to end through the loopback fake Discord: nothing a
user sends takes the bot down, holds everyone else up, or makes its text display wrongly."""

import asyncio
import io
import sqlite3
import time

import pretty_midi
import pytest

from bot.requests import LyricsOptions, MidiOptions, Requester, ShuttingDown
from bot.service import SongService
from tests import hostile_midi
from tests.bot.fake_discord import EPHEMERAL, GUILD_ID, FakeDiscord, FakeFile
from tests.music_fixtures import chord_midi, expressive_piece


def _bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def settings(bot_settings):
    return bot_settings.replaced(dev_guild_id=int(GUILD_ID), continue_download_timeout_seconds=1)


@pytest.fixture
async def fake_and_bot(settings):
    fake = FakeDiscord()
    async with fake.serving(settings) as bot:
        yield fake, bot


async def _private_answer(fake: FakeDiscord, interaction) -> str:
    """The private answer to an interaction: a refusal before or after the acknowledgement."""
    ack = await fake.callback(interaction)
    if ack.json["type"] == 4:
        assert ack.json["data"]["flags"] & EPHEMERAL
        return ack.json["data"]["content"]
    (followup,) = await fake.followups(interaction)
    assert followup.json["flags"] & EPHEMERAL
    return followup.json["content"]


def _slow_down_piano(service: SongService, seconds_per_frame: float) -> None:
    """Make each generated frame cost `seconds_per_frame`, as a big model on a busy CPU would."""
    service.music["folk"].model.project.register_forward_pre_hook(
        lambda module, inputs: time.sleep(seconds_per_frame)
    )


def _rows(settings) -> list[tuple]:
    return sqlite3.connect(settings.storage.url).execute("SELECT command, status FROM requests").fetchall()


@pytest.mark.parametrize(
    "data",
    [
        hostile_midi.long_held_note(),
        hostile_midi.note_bomb(),
        hostile_midi.many_tracks(),
        hostile_midi.past_tick_limit(),
    ],
    ids=["long-held-note", "note-bomb", "many-tracks", "past-tick-limit"],
)
async def test_hostile_midi_files_are_continued_from_their_opening_only(fake_and_bot, settings, data):
    fake, _ = fake_and_bot
    interaction = await fake.slash("continue", file=FakeFile("x.mid", data), seconds=2, seed=1)
    assert (await fake.callback(interaction)).json["type"] == 5
    (reply,) = await fake.followups(interaction)
    assert reply.json["content"].startswith("🎹 **x.mid** continued for 2 s")
    piece = pretty_midi.PrettyMIDI(io.BytesIO(reply.files["song.mid"]))
    prime_seconds = settings.music.continue_prime_bars * 4 * 60 / 120
    assert piece.get_end_time() <= prime_seconds + 2 + 0.5  # the opening bars and the new music, no more


async def test_caps_and_cooldown_refuse_before_anything_is_downloaded(fake_and_bot):
    fake, bot = fake_and_bot
    bot.service.settings.queue.cooldown_seconds = 60
    first = await fake.slash("lyrics", length=100)
    await fake.followups(first)
    tune = FakeFile("tune.mid", _bytes(chord_midi(beats=8)))
    answer = await _private_answer(fake, await fake.slash("continue", file=tune))
    assert answer.startswith("Slow down a little")
    declared_huge = FakeFile("huge.mid", b"\0" * 1_000_001)
    answer = await _private_answer(fake, await fake.slash("continue", file=declared_huge, user_id="2"))
    assert answer == "huge.mid is 1,000,001 bytes; the limit is 1,000,000."
    assert fake.cdn_requests == []


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (
            FakeFile("slow.mid", b"MThd", stall_seconds=5),
            "Downloading slow.mid took longer than 1 s; please try again.",
        ),
        (
            FakeFile("gone.mid", b"MThd", status=404),
            "Could not download gone.mid: Discord answered HTTP 404 (it is no longer there; "
            "attach it again).",
        ),
        (
            FakeFile("liar.mid", b"MThd" * 10, served=b"\0" * 50_000_000),
            "liar.mid is larger than the 1,000,000-byte limit.",
        ),
    ],
    ids=["stalled", "404", "lies-about-its-size"],
)
async def test_download_failures_are_private_and_store_nothing(fake_and_bot, settings, file, message):
    fake, bot = fake_and_bot
    bot.service.settings.queue.cooldown_seconds = 60
    started = time.monotonic()
    assert await _private_answer(fake, await fake.slash("continue", file=file)) == message
    assert time.monotonic() - started < 4  # within the download timeout, not aiohttp's 5 minutes
    assert _rows(settings) == []
    bot.service.check(Requester(1, "alice"), LyricsOptions())  # the cooldown was given back


async def test_a_short_request_waits_at_most_a_slice_behind_long_pieces(fake_and_bot):
    fake, bot = fake_and_bot
    service = bot.service
    service.settings.queue.batch_max = 1  # each long piece its own batch
    _slow_down_piano(service, 0.003)  # about 1.5 s for a 120 s piece
    long_pieces = [await fake.slash("midi", seconds=120, seed=i) for i in range(3)]
    for interaction in long_pieces:
        await fake.callback(interaction)
    await asyncio.sleep(0.2)  # the first piece is under way
    lyrics = await fake.slash("lyrics", user_id="2", user_name="bob", length=100)
    (answer,) = await fake.followups(lyrics)
    first_piece = (await fake.followups(long_pieces[0], timeout=60))[0]
    assert answer.at < first_piece.at
    slice_seconds = service.settings.music.slice_seconds * 2 * 2 * 0.003  # frames per slice x step time
    assert answer.at - lyrics.sent_at < 1.0 + slice_seconds


@pytest.mark.parametrize("typed", ["ＡＬＰＨＡ", "Al\u200bpha", "\ufeffalpha", " alpha\u00a0", "alpha\u2060"])
async def test_artist_names_match_as_a_reader_reads_them(fake_and_bot, typed):
    fake, _ = fake_and_bot
    interaction = await fake.slash("lyrics", artist=typed, length=100, seed=2)
    (reply,) = await fake.followups(interaction)
    assert reply.json["content"].startswith("🎤 Lyrics in the style of **Alpha**")


async def test_an_unknown_artist_always_gets_a_way_forward(fake_and_bot):
    fake, _ = fake_and_bot
    answer = await _private_answer(fake, await fake.slash("lyrics", artist="Zzyzx Qwv"))
    assert answer == "Unknown artist 'Zzyzx Qwv'. /artists lists every artist I know."


async def test_bidi_overrides_are_never_echoed_or_stored(fake_and_bot, settings):
    fake, _ = fake_and_bot
    interaction = await fake.slash("lyrics", start="ab\u202eba", length=100, seed=3, user_name="eve\u202e")
    (reply,) = await fake.followups(interaction)
    assert "\u202e" not in reply.json["content"] and "\nabba" in reply.json["content"]
    history = await fake.slash("history")
    shown = await fake.private_answer(history)
    assert "\u202e" not in shown and "start:abba" in shown
    stored = (
        sqlite3.connect(settings.storage.url).execute("SELECT user_name, options FROM requests").fetchone()
    )
    assert "\u202e" not in "".join(stored)


async def test_autocomplete_with_a_number_for_a_text_option_is_answered(fake_and_bot):
    fake, _ = fake_and_bot
    interaction = await fake.autocomplete("lyrics", "artist", 5)
    answer = await fake.callback(interaction)
    assert answer.json["type"] == 8 and isinstance(answer.json["data"]["choices"], list)


async def test_shutdown_settles_a_batch_in_flight_and_tells_its_user(settings):
    fake = FakeDiscord()
    async with fake.serving(settings) as bot:
        service = bot.service
        _slow_down_piano(service, 0.01)
        interaction = await fake.slash("midi", seconds=120)
        await fake.callback(interaction)
        while not service.queue_status(1)["running"]:
            await asyncio.sleep(0.02)
        await service.close(grace_seconds=0)
        bot.service = None  # closed already; the bot's own close has nothing left to do
        (told,) = await fake.followups(interaction)
        assert told.json["content"] == "The bot shut down before your request finished."
        assert told.json["flags"] & EPHEMERAL
    assert _rows(settings) == [("midi", "interrupted")]


async def test_close_with_a_batch_in_flight_settles_every_request(bot_settings):
    service = await SongService.start(bot_settings)
    _slow_down_piano(service, 0.01)
    tickets = [await service.submit(Requester(u, f"u{u}"), MidiOptions(seconds=60)) for u in (1, 2)]
    while not service.queue_status(1)["running"]:
        await asyncio.sleep(0.02)
    await service.close(grace_seconds=0)
    for ticket in tickets:
        with pytest.raises(ShuttingDown):
            await asyncio.wait_for(ticket.reply(), 1)
    statuses = sqlite3.connect(bot_settings.storage.url).execute("SELECT status FROM requests").fetchall()
    assert statuses == [("interrupted",), ("interrupted",)]


@pytest.mark.parametrize(("meter", "tempo"), [((2, 4), 100), ((3, 4), 96), ((6, 8), 144)])
async def test_continue_gives_the_users_part_back_as_written(fake_and_bot, meter, tempo):
    fake, _ = fake_and_bot
    original = expressive_piece(meter, tempo, bars=20)
    tune = FakeFile("played.mid", _bytes(original))
    interaction = await fake.slash("continue", file=tune, seconds=3, seed=2)
    (reply,) = await fake.followups(interaction)
    numerator, denominator = meter
    assert (
        f"\nRead 16 bars of your piece: {tempo} bpm, {numerator}/{denominator}, G major. It reads as "
        in reply.json["content"]
    )
    back = pretty_midi.PrettyMIDI(io.BytesIO(reply.files["song.mid"]))
    window_end = 16 * numerator * 4 / denominator * 60 / tempo
    assert back.get_tempo_changes()[1][0] == pytest.approx(tempo, abs=0.01)
    assert [(s.numerator, s.denominator) for s in back.time_signature_changes] == [meter]
    for before, after in zip(original.instruments, back.instruments, strict=False):
        read = sorted(
            (n for n in before.notes if n.start < window_end - 1e-6), key=lambda n: (n.start, n.pitch)
        )
        assert after.program == before.program and len(after.notes) == len(read)
        for a, b in zip(read, after.notes, strict=True):
            assert (a.pitch, a.velocity) == (b.pitch, b.velocity) and abs(a.start - b.start) < 0.010
    continuation = back.instruments[-1].notes
    assert continuation and min(n.start for n in continuation) >= window_end - 0.5
