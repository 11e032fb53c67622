"""No slur ever reaches a reply, wherever the model puts it; profanity is masked except in
age-restricted channels and in servers whose admins turned it on with /settings."""

import pytest

from bot.requests import LyricsOptions, Requester
from bot.service import SongService
from ml.text.safety import SLUR, profanity_rate
from tests.bot.fake_discord import GUILD_ID, MEMBER_PERMISSIONS, FakeDiscord
from tests.lyrics_fixtures import rude_rows, train_tiny_lyrics, write_lyrics_csv

PROMPT = {"start": "we sing along", "length": 300, "temperature": 0.1, "seed": 1}


@pytest.fixture(scope="module")
def rude_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rude")
    return train_tiny_lyrics(write_lyrics_csv(folder / "rude.csv", rude_rows()), folder / "run", epochs=30)


@pytest.fixture
async def rude_service(bot_settings, rude_checkpoint):
    service = await SongService.start(bot_settings.replaced(lyrics_checkpoint=rude_checkpoint))
    yield service
    await service.close()


async def _text(service, requester):
    ticket = await service.submit(requester, LyricsOptions(**PROMPT))
    return await service.deliver(ticket, _accept)


async def _accept(reply):
    return None


async def test_slur_lines_are_cut_and_profanity_masked_in_an_ordinary_channel(rude_service):
    reply = await _text(rude_service, Requester(1, "ann", guild_id=100, channel_id=1))
    assert "we sing along" in reply.text and not SLUR.search(reply.text)
    assert reply.lines_cut >= 2 and reply.words_masked >= 2
    assert "f*** it all" in reply.text and "fuck" not in reply.text.lower()
    stored = await rude_service.storage.get(reply.request_id)
    assert not SLUR.search(stored.result) and "fuck" not in stored.result  # history keeps what was shown


async def test_where_profanity_is_allowed_it_shows_and_slurs_still_do_not(rude_service):
    reply = await _text(rude_service, Requester(1, "ann", 100, 1, profanity_allowed=True))
    assert "fuck it all" in reply.text and reply.words_masked == 0
    assert not SLUR.search(reply.text) and reply.lines_cut >= 2


async def test_settings_and_age_restricted_channels_through_discord(bot_settings, rude_checkpoint):
    settings = bot_settings.replaced(lyrics_checkpoint=rude_checkpoint, dev_guild_id=int(GUILD_ID))
    fake = FakeDiscord()
    async with fake.serving(settings):
        assert "settings" in {c["name"] for c in fake.synced_commands}
        command = next(c for c in fake.synced_commands if c["name"] == "settings")
        assert int(command["default_member_permissions"]) == 0x20  # Manage Server
        assert await _lyrics(fake) == "masked"
        assert await _lyrics(fake, nsfw=True) == "shown"  # age-restricted channel
        assert await _lyrics(fake, nsfw=True, thread=True) == "shown"  # a thread follows its parent
        assert await _lyrics(fake, thread=True) == "masked"
        assert await _lyrics(fake, dm=True) == "masked"

        refused = await fake.slash("settings", profanity="on", permissions=MEMBER_PERMISSIONS)
        answer = await fake.private_answer(refused)
        assert "Only members who can manage this server" in answer
        assert await _lyrics(fake) == "masked"

        changed = await fake.slash("settings", profanity="on")
        assert "shown as written" in await fake.private_answer(changed)
        assert await _lyrics(fake) == "shown"
        await fake.private_answer(await fake.slash("settings", profanity="off"))
        assert await _lyrics(fake) == "masked"
        for crafted in ("ON", "yes", "maybe"):  # a client can send any value: none is stored
            answer = await fake.private_answer(await fake.slash("settings", profanity=crafted))
            assert "profanity must be on or off" in answer and "nothing was changed" in answer
        for kind, crafted in ((4, 1), (5, True)):
            raw = [{"name": "profanity", "type": kind, "value": crafted}]
            answer = await fake.private_answer(await fake.slash("settings", raw_options=raw))
            assert "on or off" in answer or "could not be read" in answer
        await fake.private_answer(await fake.slash("settings", profanity="on"))
        assert await _lyrics(fake) == "shown"
        assert "must be on or off" in await fake.private_answer(await fake.slash("settings", profanity="1"))
        assert await _lyrics(fake) == "shown"  # a refused value left the choice as it was


async def _lyrics(fake, **where) -> str:
    interaction = await fake.slash("lyrics", user_id=str(hash(tuple(where)) % 1000 + 10), **where, **PROMPT)
    text = "\n".join(c.json["content"] for c in await fake.followups(interaction))
    assert not SLUR.search(text) and "we sing along" in text
    return "shown" if "fuck it all" in text else "masked" if "f\\*\\*\\* it all" in text else text


async def test_an_artist_who_never_swears_gets_no_swearing(rude_service):
    generator = rude_service.lyrics
    requester = Requester(1, "ann", 100, 1, profanity_allowed=True)  # even where it may be shown
    options = LyricsOptions(artist="Gamma", **PROMPT)
    swearing = await rude_service.deliver(await rude_service.submit(requester, options), _accept)
    assert generator.swearing_allowed(1) is None and "fuck it all" in swearing.text  # Gamma swears
    generator.lexicon.words_of = lambda artist: {"we", "sing", "along", "in", "the", "night"}
    generator._swearing.clear()  # as if Gamma's songs never had
    clean = await rude_service.deliver(await rude_service.submit(requester, options), _accept)
    assert generator.swearing_allowed(1) == 0.0 and "fuck" not in clean.text.lower()
    assert clean.text.startswith("we sing along")
    generator.meta.swearing["Gamma"] = 30.0  # a rate known from its songs: 2x that + 1 per 1,000
    some = await rude_service.deliver(await rude_service.submit(requester, options), _accept)
    assert generator.swearing_allowed(1) == 61.0
    assert 0 < profanity_rate([some.text]) <= 61.0 < profanity_rate([swearing.text])


async def test_a_server_chooses_the_soundfont_of_its_previews(bot_settings, tmp_path):
    from ml.music.soundfonts import SHIPPED_SOUNDFONT

    fonts = tmp_path / "soundfonts"
    fonts.mkdir()
    (fonts / "Concert Grand.sf2").write_bytes(SHIPPED_SOUNDFONT.read_bytes())  # an operator's extra
    (fonts / "notes.txt").write_text("not a SoundFont")
    settings = bot_settings.replaced(dev_guild_id=int(GUILD_ID), soundfont_dir=fonts)
    fake = FakeDiscord()
    async with fake.serving(settings):
        offered = await fake.autocomplete("settings", "soundfont", "")
        choices = [c["value"] for c in (await fake.callback(offered)).json["data"]["choices"]]
        assert choices == ["default", "TimGM6mb", "Concert Grand"]
        answer = await fake.private_answer(await fake.slash("settings", soundfont="Concert Grand"))
        assert "played with the Concert Grand SoundFont" in answer
        (reply,) = await fake.followups(await fake.slash("midi", seconds=2, seed=1))
        assert "song.ogg" in reply.files
        history = await fake.private_answer(await fake.slash("history"))
        assert "soundfont:Concert Grand" in history
        refused = await fake.private_answer(await fake.slash("settings", soundfont="notes"))
        assert "soundfont must be one of default, TimGM6mb, Concert Grand" in refused
        back = await fake.private_answer(await fake.slash("settings", soundfont="default"))
        assert "played with the default SoundFont" in back
        (reply,) = await fake.followups(await fake.slash("midi", seconds=2, seed=2, user_id="5"))
        assert "soundfont:" not in (await fake.private_answer(await fake.slash("history", limit=1)))
