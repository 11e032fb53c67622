"""Pieces played in voice channels, end to end: the real discord.py voice client joins the
fake's voice server over loopback (TLS websocket, UDP), and the tests decrypt what it sends."""

import pytest

from bot.voice_audio import opus_packets
from tests.bot.fake_discord import BOT_ID, GUILD_ID, VOICE_CHANNEL_ID, FakeDiscord

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


async def make_piece(fake: FakeDiscord, seconds: int = 1, seed: int = 1, user_id: str = "1") -> tuple[dict, bytes]:
    """A /midi reply (its message) and its Ogg preview."""
    interaction = await fake.slash("midi", seconds=seconds, seed=seed, user_id=user_id)
    (reply,) = await fake.followups(interaction)
    return reply.message, reply.files["song.ogg"]


async def answer_of(fake: FakeDiscord, interaction) -> str:
    (followup,) = await fake.followups(interaction)
    return followup.json["content"]


async def test_play_sends_the_pieces_own_opus_packets_encrypted_at_20_ms(voice_env):
    fake, bot = voice_env
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
    steps = {b.timestamp - a.timestamp for a, b in zip(received, received[1:])}
    assert steps == {OPUS_FRAME_SAMPLES}
    # paced, not dumped: the player sleeps 20 ms a packet (a lower bound holds on any machine)
    assert received[-1].arrived - received[0].arrived >= 0.02 * (len(expected) - 1) * 0.9
    assert (1, session.ssrc) in fake.voice.speaking
    await fake.voice.quiet_for(0.5)
    for _ in range(100):  # the queue has ended: it leaves after VOICE_IDLE_SECONDS
        if fake.voice_requests[-1] is None:
            break
        await fake.voice.quiet_for(0.05)
    assert fake.voice_requests == [VOICE_CHANNEL_ID, None]
    assert BOT_ID not in fake.voice_states
