"""Generation defaults are written once, in the request dataclasses: the command line and
the bot's settings show the same values."""

from bot.config import Settings
from ml.__main__ import build_parser
from ml.music.request import PianoRequest
from ml.text.request import LyricsRequest


def test_the_command_line_samples_with_the_request_defaults(tmp_path):
    parser = build_parser()
    lyrics = parser.parse_args(["sample", "lyrics"])
    for name in ("temperature", "length", "style", "style_ramp", "min_p", "recall", "rhyme", "candidates"):
        assert getattr(lyrics, name) == getattr(LyricsRequest, name), name
    piano = parser.parse_args(["sample", "piano", "--out", str(tmp_path / "x.mid")])
    assert (piano.seconds, piano.temperature) == (PianoRequest.seconds, PianoRequest.temperature)
    assert piano.prime_bars == PianoRequest.PRIME_BARS


def test_the_bot_answers_with_the_request_defaults():
    settings = Settings(_env_file=None)
    assert settings.lyrics.temperature_default == LyricsRequest.temperature
    assert settings.lyrics.length_default == LyricsRequest.length
    assert settings.lyrics.style_default == LyricsRequest.style
    assert settings.music.seconds_default == PianoRequest.seconds
    assert settings.music.temperature_default == PianoRequest.temperature
    assert settings.music.continue_prime_bars == PianoRequest.PRIME_BARS
