"""Usable anywhere: commands installable by users as well as servers, answered in DMs and
in servers that never added the bot, and "Continue this MIDI" on any message's MIDI file."""

import io

import pretty_midi

from tests.bot.fake_discord import OTHER_GUILD_ID, FakeFile
from tests.music_fixtures import chord_midi

GUILD_INSTALL, USER_INSTALL = 0, 1
GUILD, BOT_DM, PRIVATE_CHANNEL = 0, 1, 2


def _midi_bytes(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


async def test_commands_are_installable_by_users_and_usable_in_dms_and_group_dms(discord_env):
    fake, _, _ = discord_env
    synced = {c["name"]: c for c in fake.synced_commands}
    for name in ("lyrics", "midi", "continue", "artists", "history", "about"):
        assert synced[name]["integration_types"] == [GUILD_INSTALL, USER_INSTALL], name
        assert synced[name]["contexts"] == [GUILD, BOT_DM, PRIVATE_CHANNEL], name
    assert synced["settings"]["integration_types"] == [GUILD_INSTALL]  # a server's own choice
    assert synced["settings"]["contexts"] == [GUILD]
    menu = synced["Continue this MIDI"]
    assert menu["type"] == 3 and menu["integration_types"] == [GUILD_INSTALL, USER_INSTALL]
    # voice: offered in servers only (a user install there is told why it cannot play)
    for name in ("play", "skip", "Play in voice"):
        assert synced[name]["integration_types"] == [GUILD_INSTALL, USER_INSTALL], name
        assert synced[name]["contexts"] == [GUILD], name


async def test_a_user_install_in_a_server_without_the_bot_is_answered_and_kept_apart(discord_env):
    fake, _, _ = discord_env
    asked = await fake.slash("midi", guild_id=OTHER_GUILD_ID, seconds=2, seed=3)
    (reply,) = await fake.followups(asked)
    assert reply.json["content"].startswith("🎹 2 s of folk music")
    assert {"song.mid", "piano-roll.png"} <= set(reply.files)
    labels = [c["label"] for row in reply.json["components"] for c in row["components"]]
    assert "Play in voice" not in labels  # no voice where only the user installed the bot
    here = await fake.private_answer(await fake.slash("history", guild_id=OTHER_GUILD_ID))
    assert "/midi" in here
    elsewhere = await fake.private_answer(await fake.slash("history"))  # the bot's own server
    assert elsewhere.startswith("No requests here yet")
    assert fake.errors_sent == []


async def test_continue_this_midi_on_any_message(discord_env):
    fake, _, _ = discord_env
    tune = FakeFile("their tune.MID", _midi_bytes(chord_midi(beats=8)))
    posted = fake.user_message([FakeFile("notes.txt", b"not music"), tune], content="my new tune!")
    (reply,) = await fake.followups(await fake.message_command("Continue this MIDI", posted))
    assert reply.json["content"].startswith("🎹 **their tune.MID** continued")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(reply.files["song.mid"]))
    assert midi.get_end_time() > chord_midi(beats=8).get_end_time()  # theirs, then more

    words_only = fake.user_message([], content="no file here")
    answer = await fake.private_answer(await fake.message_command("Continue this MIDI", words_only))
    assert answer == "That message has no MIDI file (.mid or .midi) to continue; pick one that does."

    from_afar = fake.user_message([tune])  # a user's install, in a server without the bot
    asked = await fake.message_command("Continue this MIDI", from_afar, user_id="8", user_installed=True)
    (reply,) = await fake.followups(asked)
    assert reply.json["content"].startswith("🎹 **their tune.MID** continued")
