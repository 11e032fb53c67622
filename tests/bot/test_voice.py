"""Pieces played in voice channels, end to end: the real discord.py voice client joins the
fake's voice server over loopback (TLS websocket, UDP), and the tests decrypt what it sends."""

import asyncio
import io
import itertools
import sys

import pytest

from bot.voice_audio import opus_packets
from tests.bot.fake_discord import (
    BOT_ID,
    CLOSED_VOICE_CHANNEL_ID,
    GUILD_ID,
    MEMBER_PERMISSIONS,
    OTHER_GUILD_ID,
    SECOND_VOICE_CHANNEL_ID,
    STAGE_CHANNEL_ID,
    VOICE_CHANNEL_ID,
    FakeDiscord,
    FakeFile,
)
from tests.music_fixtures import chord_midi

OPUS_FRAME_SAMPLES = 960  # 20 ms at 48 kHz: each packet's RTP timestamp step


@pytest.fixture
async def voice_env(bot_settings):
    """(fake Discord with a voice server, the bot logged in to it)."""
    fake = FakeDiscord(voice=True)
    settings = bot_settings.replaced(
        dev_guild_id=int(GUILD_ID), voice_idle_seconds=0.3, voice_empty_seconds=0.5
    )
    async with fake.serving(settings) as bot:
        yield fake, bot


async def make_piece(
    fake: FakeDiscord, seconds: int = 1, seed: int = 1, user_id: str = "1"
) -> tuple[dict, bytes]:
    """A /midi reply (its message) and its Ogg preview."""
    interaction = await fake.slash("midi", seconds=seconds, seed=seed, user_id=user_id)
    (reply,) = await fake.followups(interaction)
    return reply.message, reply.files["song.ogg"]


async def answer_of(fake: FakeDiscord, interaction) -> str:
    (followup,) = await fake.followups(interaction)
    return followup.json["content"]


async def left_voice(fake: FakeDiscord, timeout: float = 30.0) -> None:
    """Until the bot has asked the gateway to leave its voice channel."""
    async with asyncio.timeout(timeout):
        while not fake.voice_requests or fake.voice_requests[-1] is not None:
            await asyncio.sleep(0.05)


async def start_playing(fake: FakeDiscord) -> None:
    """Member 1 in the voice channel, a 20 s piece of theirs playing."""
    await fake.join_voice("1")
    await make_piece(fake, seconds=20, seed=1)
    await answer_of(fake, await fake.slash("play"))
    await fake.voice.wait_for_audio(5)


def midi_file(beats: int = 4) -> bytes:
    buffer = io.BytesIO()
    chord_midi(beats=beats).write(buffer)
    return buffer.getvalue()


async def test_play_sends_the_pieces_own_opus_packets_encrypted_at_20_ms(voice_env):
    fake, _ = voice_env
    await fake.join_voice("1")
    _, ogg = await make_piece(fake)
    expected = opus_packets(ogg)
    play = await fake.slash("play")
    assert (await answer_of(fake, play)).startswith("▶ Playing **piece #1 (folk)** (0:0")
    assert fake.voice_requests == [VOICE_CHANNEL_ID]
    (session,) = fake.voice.sessions.values()
    assert session.dave_offered == 1  # davey installed: DAVE offered, negotiated down to 0
    received = await fake.voice.wait_for_audio(len(expected))
    assert [p.opus for p in received] == expected
    assert fake.voice.stray_packets == 0
    sequences = [p.sequence for p in received]
    assert sequences == list(range(sequences[0], sequences[0] + len(expected)))
    steps = {b.timestamp - a.timestamp for a, b in itertools.pairwise(received)}
    assert steps == {OPUS_FRAME_SAMPLES}
    # paced, not dumped: the player sleeps 20 ms a packet (a lower bound holds on any machine)
    assert received[-1].arrived - received[0].arrived >= 0.02 * (len(expected) - 1) * 0.9
    assert (1, session.ssrc) in fake.voice.speaking
    await left_voice(fake)  # the queue has ended: it leaves after VOICE_IDLE_SECONDS
    assert fake.voice_requests == [VOICE_CHANNEL_ID, None]
    assert BOT_ID not in fake.voice_states


async def test_the_queue_plays_in_order_and_the_requester_may_skip(voice_env):
    fake, _ = voice_env
    await fake.join_voice("1")
    await fake.join_voice("2")
    _, first = await make_piece(fake, seconds=4, seed=1, user_id="1")
    _, second = await make_piece(fake, seconds=1, seed=2, user_id="2")
    first, second = opus_packets(first), opus_packets(second)
    assert (await answer_of(fake, await fake.slash("play", id=1))).startswith("▶ Playing **piece #1")
    queued = await answer_of(fake, await fake.slash("play", user_id="2", user_name="bob"))
    assert queued.startswith("➕ Queued **piece #2 (folk)** (0:0")
    assert f"in <#{VOICE_CHANNEL_ID}>: #1 in line, about 0:0" in queued
    listing = await fake.private_answer(await fake.slash("queue"))
    assert f"🔊 Listening in <#{VOICE_CHANNEL_ID}>:\n▶ **piece #1 (folk)** (0:" in listing
    assert "\n1. **piece #2 (folk)** (0:0" in listing
    await fake.voice.wait_for_audio(20)
    vote = await fake.slash("skip", user_id="2", permissions=MEMBER_PERMISSIONS)
    assert (await fake.callback(vote)).json["data"][
        "content"
    ] == "🗳 1 of 2 votes to skip **piece #1 (folk)**."
    skip = await fake.slash("skip", user_id="1", permissions=MEMBER_PERMISSIONS)
    assert (await fake.callback(skip)).json["data"]["content"] == "⏭ alice skipped **piece #1 (folk)**."
    received = [p.opus for p in await fake.voice.wait_for_audio(len(second) + 20)]
    await left_voice(fake)
    received = [p.opus for p in fake.voice.audio()]
    cut = len(received) - len(second)
    assert 20 <= cut < len(first)  # the first piece was cut short, the second played whole, in order
    assert received[:cut] == first[:cut] and received[cut:] == second


async def test_a_vote_of_listeners_or_a_member_who_can_move_members_skips(voice_env):
    fake, _ = voice_env
    for member in ("1", "2", "3"):
        await fake.join_voice(member)
    await make_piece(fake, seconds=4, seed=1)
    await make_piece(fake, seconds=4, seed=2)
    await answer_of(fake, await fake.slash("play", id=1))
    await answer_of(fake, await fake.slash("play", id=2))
    await fake.voice.wait_for_audio(5)
    outsider = await fake.private_answer(
        await fake.slash("skip", user_id="4", permissions=MEMBER_PERMISSIONS)
    )
    assert outsider == f"Join <#{VOICE_CHANNEL_ID}> to vote to skip what plays there."
    first = await fake.slash("skip", user_id="2", permissions=MEMBER_PERMISSIONS)
    assert (await fake.callback(first)).json["data"]["content"].startswith("🗳 1 of 2 votes")
    again = await fake.slash("skip", user_id="2", permissions=MEMBER_PERMISSIONS)  # one vote each
    assert (await fake.callback(again)).json["data"]["content"].startswith("🗳 1 of 2 votes")
    passed = await fake.slash("skip", user_id="3", permissions=MEMBER_PERMISSIONS)
    assert (await fake.callback(passed)).json["data"]["content"] == (
        "⏭ Skipped **piece #1 (folk)** by a vote of listeners (2 of 3)."
    )
    moderator = await fake.slash("skip", user_id="4", user_name="mod")  # may move members
    assert (await fake.callback(moderator)).json["data"]["content"] == "⏭ mod skipped **piece #2 (folk)**."
    await left_voice(fake)


async def test_every_refusal_is_private_and_says_what_to_do(voice_env, monkeypatch):
    fake, _ = voice_env
    await make_piece(fake)

    async def refusal(**where) -> str:
        return await fake.private_answer(await fake.slash("play", **where))

    assert await refusal() == "Join a voice channel first; I play where you are listening."
    await fake.join_voice("1", STAGE_CHANNEL_ID)
    assert "is a stage channel, where I don't play" in await refusal()
    await fake.join_voice("1", CLOSED_VOICE_CHANNEL_ID)
    assert await refusal() == (
        f"I don't have the Connect and Speak permission in <#{CLOSED_VOICE_CHANNEL_ID}>; "
        "ask a server admin to allow it."
    )
    for where in ({"dm": True}, {"guild_id": OTHER_GUILD_ID}):
        assert (await refusal(**where)).startswith(
            "I can only play in voice channels of servers that have added me"
        )
    await fake.join_voice("1", VOICE_CHANNEL_ID)
    await fake.join_voice("2", VOICE_CHANNEL_ID)
    assert await refusal(user_id="2") == (
        "You have no recent piece to play; make one with /midi or /continue, or use "
        "the message menu Apps → Play in voice on any message with a MIDI file."
    )
    assert (await refusal(id=99)).startswith("I don't have piece #99 at hand any more;")
    nothing = await fake.private_answer(await fake.slash("skip"))
    assert nothing == "Nothing is playing in voice here."
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "davey", None)  # as if discord.py were installed without [voice]
        assert await refusal() == (
            "Voice is not available on this bot: davey is not installed "
            '(the operator can install "discord.py[voice]").'
        )
    assert fake.voice_requests == []  # none of these joined anything
    await make_piece(fake, seconds=4, seed=2)
    await answer_of(fake, await fake.slash("play"))
    await fake.join_voice("2", SECOND_VOICE_CHANNEL_ID)
    await make_piece(fake, seconds=1, seed=3, user_id="2")
    assert await refusal(user_id="2") == (
        f"I'm already playing in <#{VOICE_CHANNEL_ID}>; join it to listen, or wait until its queue has ended."
    )
    assert fake.errors_sent == []


async def test_play_in_voice_from_a_messages_midi_and_from_the_button(voice_env):
    fake, _ = voice_env
    await fake.join_voice("1")
    posted = fake.user_message([FakeFile("notes.txt", b"hi"), FakeFile("tune.mid", midi_file(beats=4))])
    menu = await fake.message_command("Play in voice", posted)
    assert (await answer_of(fake, menu)).startswith("▶ Playing **tune.mid** (0:0")
    heard = await fake.voice.wait_for_audio(50)  # 4 beats at 120 bpm, rendered whole: 2 s and its release
    assert heard
    bare = await fake.message_command("Play in voice", fake.user_message([FakeFile("notes.txt", b"hi")]))
    assert (await fake.private_answer(bare)).startswith("That message has no MIDI file")
    junk = await fake.message_command("Play in voice", fake.user_message([FakeFile("bad.mid", b"MThd junk")]))
    assert (
        await fake.private_answer(junk)
    ) == "I can't play bad.mid: it is not a MIDI file that can be read."
    reply, ogg = await make_piece(fake, seconds=1, seed=5)
    labels = [c["label"] for row in reply["components"] for c in row["components"]]
    assert labels == ["Again", "Hotter", "Cooler", "Play in voice"]
    click = await fake.click(reply, "Play in voice", user_id="1")
    assert "**piece #1 (folk)**" in await answer_of(fake, click)
    await left_voice(fake)
    assert [p.opus for p in fake.voice.audio()][-len(opus_packets(ogg)) :] == opus_packets(ogg)


async def test_the_button_renders_the_messages_midi_when_the_piece_is_no_longer_kept(bot_settings):
    fake = FakeDiscord(voice=True)
    settings = bot_settings.replaced(
        dev_guild_id=int(GUILD_ID), voice_shelf_megabytes=0, voice_idle_seconds=0
    )
    async with fake.serving(settings):
        await fake.join_voice("1")
        reply, _ = await make_piece(fake, seconds=1, seed=5)
        click = await fake.click(reply, "Play in voice", user_id="1")
        assert (await answer_of(fake, click)).startswith("▶ Playing **piece #1** (0:0")
        assert len(await fake.voice.wait_for_audio(40)) >= 40  # 1 s of music and its release
        await left_voice(fake)


async def test_the_bot_leaves_a_channel_nobody_listens_in(voice_env):
    fake, _ = voice_env
    await start_playing(fake)
    await fake.join_voice("1", None)
    await left_voice(fake, timeout=10)  # after VOICE_EMPTY_SECONDS, long before the piece ends
    assert len(fake.voice.audio()) < 500


async def test_playback_and_the_queue_survive_a_gateway_reconnect(voice_env):
    fake, _ = voice_env
    await fake.join_voice("1")
    _, first = await make_piece(fake, seconds=2, seed=1)
    _, second = await make_piece(fake, seconds=1, seed=2)
    await answer_of(fake, await fake.slash("play", id=1))
    await answer_of(fake, await fake.slash("play", id=2))
    await fake.voice.wait_for_audio(10)
    await fake.gateway_down()
    await asyncio.sleep(0.3)
    fake.gateway_up()
    await left_voice(fake)
    assert [p.opus for p in fake.voice.audio()] == opus_packets(first) + opus_packets(second)
    assert fake.voice_requests == [VOICE_CHANNEL_ID, None]


async def test_a_restart_leaves_the_voice_channel_it_was_in(bot_settings):
    fake = FakeDiscord(voice=True)
    fake.voice_states[BOT_ID] = VOICE_CHANNEL_ID  # where Discord still shows it after a crash
    settings = bot_settings.replaced(dev_guild_id=int(GUILD_ID))
    async with fake.serving(settings):
        await left_voice(fake, timeout=10)
        assert fake.voice_requests == [None]


async def test_closing_the_bot_while_it_plays_leaves_voice_first(voice_env):
    fake, bot = voice_env
    await start_playing(fake)
    await bot.close()
    assert fake.voice_requests == [VOICE_CHANNEL_ID, None]
