"""The real discord.py client against the loopback fake Discord."""

import asyncio
import io
import time

import pretty_midi
import pytest
import soundfile

from ml.music.audio import RELEASE_S
from ml.text.artists import ANY_ARTIST, ArtistTable
from ml.text.request import LyricsRequest
from tests.bot.fake_discord import APPLICATION_ID, EPHEMERAL, GUILD_ID, SECOND_GUILD_ID, FakeDiscord, FakeFile
from tests.music_fixtures import chord_midi, jig_with_pickup


def _options(command: dict) -> dict:
    return {o["name"]: o for o in command.get("options", [])}


async def test_startup_syncs_the_commands_to_the_dev_guild(discord_env):
    fake, _, hosts = discord_env
    sync = await fake.wait_for(lambda c: c.method == "PUT" and c.path.endswith("/commands"))
    assert sync.path == f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"
    commands = {c["name"]: c for c in sync.json}
    slash = {"lyrics", "midi", "continue", "artists", "history", "queue", "about", "settings", "play", "skip"}
    assert set(commands) == slash | {"Continue this MIDI", "Play in voice"}
    assert _options(commands["continue"])["file"]["type"] == 11
    lyrics = _options(commands["lyrics"])
    assert lyrics["artist"]["type"] == 3 and lyrics["artist"]["autocomplete"] is True
    assert (
        lyrics["temperature"]["type"],
        lyrics["temperature"]["min_value"],
        lyrics["temperature"]["max_value"],
    ) == (10, 0.1, 2.0)
    assert (lyrics["length"]["type"], lyrics["length"]["min_value"], lyrics["length"]["max_value"]) == (
        4,
        100,
        1500,
    )
    assert lyrics["start"]["max_length"] == 200 and not lyrics["start"]["required"]
    assert lyrics["artist"]["max_length"] == 100
    style = lyrics["style"]
    assert (style["type"], style["min_value"], style["max_value"]) == (10, 0, 10)
    midi = _options(commands["midi"])
    assert (midi["seconds"]["type"], midi["seconds"]["min_value"], midi["seconds"]["max_value"]) == (
        4,
        1,
        120,
    )
    assert all(c["description"] for c in sync.json if c["type"] == 1)  # menus have none
    assert set(hosts) == {"127.0.0.1"}  # nothing left the machine


async def test_lyrics_is_deferred_then_answered_without_pings(discord_env):
    fake, _, _ = discord_env
    interaction = await fake.slash("lyrics", artist="alpha", start="ab", length=120, seed=9)
    ack = await fake.callback(interaction)
    assert ack.json["type"] == 5  # deferred, "thinking"
    (followup,) = await fake.followups(interaction)
    assert followup.at >= ack.at
    body = followup.json
    assert body["content"].startswith(
        f"🎤 Lyrics in the style of **Alpha** · temperature 0.8 · style {LyricsRequest.style:g} · seed 9"
    )
    assert "\n\nab" in body["content"]
    assert body["allowed_mentions"] == {"parse": []}
    labels = [c["label"] for row in body["components"] for c in row["components"]]
    assert labels == ["Again", "Hotter", "Cooler", "Stronger style"]


async def test_midi_is_answered_with_playable_attachments(discord_env):
    fake, _, _ = discord_env
    interaction = await fake.slash("midi", seconds=4, seed=3)
    assert (await fake.callback(interaction)).json["type"] == 5
    (followup,) = await fake.followups(interaction)
    files = followup.files
    assert set(files) == {"song.mid", "song.ogg", "piano-roll.png"}
    midi = pretty_midi.PrettyMIDI(io.BytesIO(files["song.mid"]))
    assert sum(len(i.notes) for i in midi.instruments) > 0
    assert files["piano-roll.png"][:8] == b"\x89PNG\r\n\x1a\n"
    audio, rate = soundfile.read(io.BytesIO(files["song.ogg"]))
    assert len(audio) / rate == pytest.approx(midi.get_end_time() + RELEASE_S, abs=0.05)
    assert [a["filename"] for a in followup.json["attachments"]] == ["song.mid", "song.ogg", "piano-roll.png"]


async def test_midi_is_barred_in_the_meter_asked_for_and_says_so(discord_env):
    fake, _, _ = discord_env
    (reply,) = await fake.followups(await fake.slash("midi", seconds=8, seed=3, meter="3/4"))
    assert " of folk music in 3/4 · " in reply.json["content"]
    midi = pretty_midi.PrettyMIDI(io.BytesIO(reply.files["song.mid"]))
    assert (midi.time_signature_changes[-1].numerator, midi.time_signature_changes[-1].denominator) == (3, 4)
    assert len({n.velocity for i in midi.instruments for n in i.notes}) > 1  # played, not typed
    refused = await fake.private_answer(await fake.slash("midi", meter="5/4"))
    assert refused == "meter must be one of auto, 4/4, 3/4, 6/8 (got '5/4')."


async def test_a_continuation_lasts_its_seconds_at_the_tempo_it_plays_at(discord_env):
    fake, _, _ = discord_env
    tune = FakeFile("slow tune.mid", _midi_bytes(chord_midi(beats=8, tempo=60.0)))  # 8 s read
    (reply,) = await fake.followups(await fake.slash("continue", file=tune, seconds=6, seed=3, style="folk"))
    content = reply.json["content"]
    assert content.startswith("🎹 **slow tune.mid** continued for 6 s in the folk style")
    assert "Read 2 bars of your piece: 60 bpm, 4/4" in content
    music = pretty_midi.PrettyMIDI(io.BytesIO(reply.files["song.mid"]))
    added = [n for n in music.instruments[-1].notes if n.start >= 8 - 1e-6]
    assert added and 8 + 6 - 2 <= max(n.end for n in added) <= 8 + 6 + 0.01  # 6 s at 60 bpm (a bar = 4 s)


async def test_a_jig_after_its_pickup_is_continued_from_a_barline_in_6_8(discord_env):
    fake, _, _ = discord_env
    tune = FakeFile("jig.mid", _midi_bytes(jig_with_pickup(padded=True)))
    (reply,) = await fake.followups(await fake.slash("continue", file=tune, seconds=4, seed=3, style="folk"))
    assert "Read 6 bars of your piece: 132 bpm, 6/8" in reply.json["content"]
    music = pretty_midi.PrettyMIDI(io.BytesIO(reply.files["song.mid"]))
    bar = 3 * 60 / 132  # a 6/8 bar: three quarter notes
    read_end = 7 * bar  # the padded pickup bar and the six whole bars the tune has
    added = music.instruments[-1].notes
    assert min(n.start for n in music.instruments[-1].notes) == pytest.approx(read_end, abs=1e-3)
    assert music.instruments[-1].name == "Fiddle (continued)" and music.instruments[-1].program == 40
    assert max(n.end for n in added) <= read_end + 4 + bar + 1e-3  # 4 s, in whole bars


async def test_a_midi_file_cut_short_is_continued_and_the_reply_says_so(discord_env):
    fake, _, _ = discord_env
    whole = _midi_bytes(chord_midi(beats=32))
    tune = FakeFile("half.mid", whole[: len(whole) * 2 // 3])
    (reply,) = await fake.followups(await fake.slash("continue", file=tune, seconds=2, seed=3, style="folk"))
    assert "Your file ends early (it seems cut short); I read what was there." in reply.json["content"]


async def test_artist_autocomplete(discord_env):
    fake, _, _ = discord_env
    interaction = await fake.autocomplete("lyrics", "artist", "bet")
    answer = await fake.callback(interaction)
    assert answer.json == {"type": 8, "data": {"choices": [{"name": "Beta", "value": "Beta"}]}}


async def test_unknown_artist_is_a_private_error_with_suggestions(discord_env):
    fake, _, _ = discord_env
    interaction = await fake.slash("lyrics", artist="Alfa")
    answer = await fake.callback(interaction)
    assert answer.json["type"] == 4 and answer.json["data"]["flags"] & EPHEMERAL
    assert answer.json["data"]["content"] == "Unknown artist 'Alfa'. Did you mean: Alpha?"


async def test_concurrent_users_are_all_answered_in_fair_order_and_listed_in_history(discord_env):
    fake, bot, _ = discord_env
    bot.service.settings.queue.batch_max = 1  # one request at a time, so the order shows
    slow = bot.service.lyrics.generate

    def slow_generate(requests):
        time.sleep(0.3)
        return slow(requests)

    bot.service.lyrics.generate = slow_generate
    sent = []
    for user_id, name in (("1", "alice"), ("1", "alice"), ("1", "alice"), ("2", "bob")):
        sent.append(await fake.slash("lyrics", user_id=user_id, user_name=name, length=100))
        await fake.callback(sent[-1])
    answers = [(await fake.followups(i))[0] for i in sent]
    finished = sorted(range(4), key=lambda k: answers[k].at)
    # Alice's requests in the order she sent them; Bob's one goes before Alice's third: right
    # after her first when all four were in line before the worker took one, after her second
    # when her first was already running.
    assert finished in ([0, 1, 3, 2], [0, 3, 1, 2])
    waiting = [c for c in fake.calls_for(sent[2]) if c.method == "PATCH"]
    assert waiting and "in line" in waiting[0].json["content"]

    history = await fake.slash("history", user_id="2", user_name="bob")
    text = await fake.private_answer(history)
    assert text.count("/lyrics") == 4 and text.count("· done") == 4
    assert text.index("**bob**") < text.index("**alice**")  # newest first


async def test_again_button_makes_a_new_result(discord_env):
    fake, _, _ = discord_env
    first = await fake.slash("lyrics", artist="beta", length=150, seed=1, temperature=1.5)
    (reply,) = await fake.followups(first)
    click = await fake.click(reply.message, "Again", user_id="3", user_name="carol")
    assert (await fake.callback(click)).json["type"] == 5
    (again,) = await fake.followups(click)
    assert not again.json["content"].splitlines()[0].endswith("seed 1")
    assert again.json["content"] != reply.json["content"]
    hotter = await fake.click(reply.message, "Hotter")
    (hot,) = await fake.followups(hotter)
    assert "temperature 1.7" in hot.json["content"]
    stronger = await fake.click(reply.message, "Stronger style")
    (strong,) = await fake.followups(stronger)
    assert strong.json["content"].startswith(
        f"🎤 Lyrics in the style of **Beta** · temperature 1.5 · style {LyricsRequest.style + 1:g} ·"
    )


async def test_style_is_an_option_checked_by_the_service_and_only_for_an_artist(discord_env):
    fake, _, _ = discord_env
    refused = await fake.slash("lyrics", artist="alpha", style=10.5)
    assert (await fake.callback(refused)).json["data"][
        "content"
    ] == "style must be between 0 and 10 (got 10.5)."
    anyone = await fake.slash("lyrics", length=100, style=3.0)
    (reply,) = await fake.followups(anyone)
    assert " style " not in reply.json["content"].splitlines()[0]
    labels = [c["label"] for row in reply.json["components"] for c in row["components"]]
    assert labels == ["Again", "Hotter", "Cooler"]  # no style to strengthen without an artist


async def test_heartbeats_keep_flowing_while_a_long_generation_runs(discord_env):
    fake, bot, _ = discord_env
    real = bot.service.lyrics.generate

    def slow_generate(requests):
        time.sleep(2.5)  # a slow model, in the worker thread
        return real(requests)

    bot.service.lyrics.generate = slow_generate
    interaction = await fake.slash("lyrics", length=1500)
    started = time.monotonic()
    await fake.followups(interaction)
    beats = [t for t in fake.heartbeats if t >= started]
    assert len(beats) >= 6
    gaps = [b - a for a, b in zip([started, *beats], beats, strict=False)]
    assert max(gaps) < 1.0


async def test_works_in_direct_messages(discord_env):
    fake, _, _ = discord_env
    interaction = await fake.slash("lyrics", dm=True, length=100, seed=2)
    (followup,) = await fake.followups(interaction)
    assert followup.json["content"].startswith("🎤 Lyrics by any artist")
    history = await fake.slash("history", dm=True)
    assert "/lyrics" in await fake.private_answer(history)


async def test_clean_shutdown_stores_everything_and_leaves_no_tasks(discord_env, bot_settings):
    fake, bot, _ = discord_env
    interaction = await fake.slash("lyrics", length=100)
    await fake.followups(interaction)
    await bot.close()
    await asyncio.sleep(0.05)
    assert fake.close_codes and fake.close_codes[-1] in (1000, 4000)
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert [t.get_name() for t in pending if "generation-worker" in t.get_name()] == []
    import sqlite3

    rows = sqlite3.connect(bot_settings.storage.url).execute("SELECT status FROM requests").fetchall()
    assert rows == [("done",)]


@pytest.mark.parametrize(("count", "ids", "expected"), [("auto", None, [[0, 2], [1, 2]]), (2, [1], [[1, 2]])])
async def test_a_sharded_bot_answers_on_each_of_its_shards(bot_settings, count, ids, expected):
    fake = FakeDiscord()
    settings = bot_settings.replaced(shard_count=count, shard_ids=ids)
    async with fake.serving(settings) as bot:
        assert sorted(fake.identifies) == expected
        assert any(c.path == "/gateway/bot" for c in fake.calls) == (count == "auto")
        served = [GUILD_ID, SECOND_GUILD_ID] if ids is None else [SECOND_GUILD_ID]
        for guild in served:
            interaction = await fake.slash("lyrics", guild_id=guild, length=100, seed=1)
            (reply,) = await fake.followups(interaction)
            assert reply.json["content"].startswith("🎤 Lyrics by any artist")
        assert {g.shard_id for g in bot.guilds} == {fake.shard_of(g) for g in served}


def _midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


async def test_continue_plays_on_from_an_uploaded_midi_file(discord_env, bot_settings):
    fake, _, _ = discord_env
    tune = FakeFile("my tune.mid", _midi_bytes(chord_midi(beats=8)))
    interaction = await fake.slash("continue", file=tune, seconds=4, seed=3)
    assert (await fake.callback(interaction)).json["type"] == 5
    (reply,) = await fake.followups(interaction)
    content = reply.json["content"]
    assert content.startswith("🎹 **my tune.mid** continued for 4 s in the folk style · temperature 1 · seed")
    assert "\nRead 2 bars of your piece: 120 bpm, 4/4, C major. It reads as folk: " in content
    assert " nats/beat vs chorale " in content  # style auto: every style's model scored it
    assert set(reply.files) == {"song.mid", "song.ogg", "piano-roll.png"}
    music = pretty_midi.PrettyMIDI(io.BytesIO(reply.files["song.mid"]))
    assert music.get_end_time() > 4 + 3.5  # the 8 beats of the prime (4 s at 120 bpm), then 4 s more
    labels = [c["label"] for row in reply.json["components"] for c in row["components"]]
    assert labels == ["Again", "Hotter", "Cooler", "Play in voice"]
    again = await fake.click(reply.message, "Again")
    (second,) = await fake.followups(again)
    assert second.json["content"].startswith("🎹 **my tune.mid** continued")
    history = await fake.slash("history")
    assert (
        "/continue seconds:4 temperature:1.0 seed:3 style:folk file:my tune.mid · done"
        in await fake.private_answer(history)
    )


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (
            FakeFile("notes.txt", b"these are not notes"),
            "Cannot read notes.txt as a MIDI file: it does not start with a MIDI header",
        ),
        (FakeFile("empty.mid", b""), "empty.mid is empty."),
        (
            FakeFile("drums.mid", b"drums"),
            "Cannot read drums.mid as a MIDI file: it has no notes (it is empty, or drums only)",
        ),
        (FakeFile("huge.mid", b"\0" * 1_000_001), "huge.mid is 1,000,001 bytes; the limit is 1,000,000."),
    ],
)
async def test_continue_refuses_unusable_files_privately(discord_env, file, message):
    fake, _, _ = discord_env
    if file.filename == "drums.mid":
        drums = pretty_midi.PrettyMIDI()
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        kit.notes.append(pretty_midi.Note(100, 36, 0, 0.5))
        drums.instruments.append(kit)
        file = FakeFile("drums.mid", _midi_bytes(drums))
    interaction = await fake.slash("continue", file=file)
    answer = await fake.callback(interaction)
    if answer.json["type"] == 4:  # refused before downloading
        text = answer.json["data"]["content"]
        assert answer.json["data"]["flags"] & EPHEMERAL
    else:
        (followup,) = await fake.followups(interaction)
        text = followup.json["content"]
        assert followup.json["flags"] & EPHEMERAL
    assert message in text


async def test_artists_can_be_searched_and_paged(discord_env):
    fake, _, _ = discord_env
    interaction = await fake.slash("artists", search="alp")
    reply = (await fake.callback(interaction)).json
    assert reply["data"]["flags"] == EPHEMERAL
    assert reply["data"]["content"].startswith("I know 2 artists; 1 matching 'alp', page 1 of 1:\nAlpha (")
    interaction = await fake.slash("artists", page=5)
    assert "page 1 of 1" in await fake.private_answer(interaction)


async def test_artists_refuses_crafted_pages_and_overlong_searches(discord_env):
    fake, _, _ = discord_env
    for kind, page in ((3, "2"), (10, 1.5), (5, True)):
        raw = [{"name": "page", "type": kind, "value": page}]
        answer = await fake.private_answer(await fake.slash("artists", raw_options=raw))
        assert "page must be a whole number" in answer or "could not be read" in answer, answer
    answer = await fake.private_answer(await fake.slash("artists", search="a" * 10_000))
    assert answer == "search can be at most 100 characters long (got 10,000)."
    answer = await fake.private_answer(await fake.slash("artists", search="Alpha" + " " * 90 + "x"))
    assert len(answer) < 300  # the search quoted back at most ECHO_CHARS long


async def test_a_name_that_fits_several_artists_offers_a_button_for_each(discord_env):
    fake, bot, _ = discord_env
    lyrics = bot.service.lyrics  # its two artists renamed so that "Alpha" fits both
    lyrics.artist_table = ArtistTable(
        [ANY_ARTIST, "Alpha One", "Alpha Two"], {"Alpha One": 2, "Alpha Two": 5}
    )
    asked = await fake.slash("lyrics", artist="alpha", length=100, seed=4)
    question = await fake.callback(asked)
    data = question.json["data"]
    assert question.json["type"] == 4 and data["flags"] & EPHEMERAL
    assert data["content"] == "“alpha” could be several artists; pick one:"
    labels = [c["label"] for row in data["components"] for c in row["components"]]
    assert labels == ["Alpha Two", "Alpha One"]  # the better known first
    message = next(m for m in fake.messages.values() if m["content"] == data["content"])
    (reply,) = await fake.followups(await fake.click(message, "Alpha One"))
    assert reply.json["content"].startswith("🎤 Lyrics in the style of **Alpha One** · ")
    typo = await fake.slash("lyrics", artist="Alpha Onr", length=100, seed=4)  # one slip: used, and said
    (reply,) = await fake.followups(typo)
    assert reply.json["content"].startswith("🎤 Lyrics in the style of **Alpha One** (for “Alpha Onr”) · ")


async def test_a_start_without_letters_is_no_start_and_another_script_is_refused(discord_env):
    fake, _, _ = discord_env
    for start in ("💕💕", "   ", "…!?"):
        (reply,) = await fake.followups(await fake.slash("lyrics", start=start, length=100, seed=5))
        assert reply.json["content"].startswith("🎤 Lyrics by any artist")
        assert "💕" not in reply.json["content"] and "doesn't know" not in reply.json["content"]
    refused = await fake.private_answer(await fake.slash("lyrics", start="Привет, как дела", length=100))
    assert "alphabets of my training songs" in refused
