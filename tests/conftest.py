import pytest
import torch

from tests.lyrics_fixtures import train_tiny_lyrics, two_artist_rows, write_lyrics_csv
from tests.music_fixtures import train_tiny_piano, write_chord_folder, write_scale_folder


@pytest.fixture(autouse=True)
def _few_threads():
    """Tiny models run fastest single-threaded and leave the other core to the suite."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def two_artist_csv(tmp_path_factory):
    return write_lyrics_csv(tmp_path_factory.mktemp("lyrics") / "songs.csv", two_artist_rows())


@pytest.fixture(scope="session")
def tiny_lyrics_checkpoint(two_artist_csv, tmp_path_factory):
    """A conditional model trained on the two-artist corpus until it knows both styles."""
    torch.set_num_threads(1)
    return train_tiny_lyrics(two_artist_csv, tmp_path_factory.mktemp("lyrics-run"))


@pytest.fixture(autouse=True, scope="session")
def _roll_cache(tmp_path_factory):
    """Keep the MIDI roll cache out of the home folder."""
    import os

    previous = os.environ.get("BALLADEER_CACHE")
    os.environ["BALLADEER_CACHE"] = str(tmp_path_factory.mktemp("roll-cache"))
    yield
    if previous is None:
        os.environ.pop("BALLADEER_CACHE", None)
    else:
        os.environ["BALLADEER_CACHE"] = previous


@pytest.fixture(scope="session")
def chord_folder(tmp_path_factory):
    return write_chord_folder(tmp_path_factory.mktemp("midi"))


@pytest.fixture(scope="session")
def tiny_piano_checkpoint(chord_folder, tmp_path_factory):
    torch.set_num_threads(1)
    return train_tiny_piano(chord_folder, tmp_path_factory.mktemp("piano-run"))


@pytest.fixture(scope="session")
def tiny_scale_checkpoint(tmp_path_factory):
    """A second style: melodies up and down the scale, where the first has chords."""
    torch.set_num_threads(1)
    scales = write_scale_folder(tmp_path_factory.mktemp("scales"))
    return train_tiny_piano(scales, tmp_path_factory.mktemp("scale-run"))


@pytest.fixture
def bot_settings(tmp_path, tiny_lyrics_checkpoint, tiny_piano_checkpoint):
    """Settings for a bot on the tiny test models, with no .env and no cooldown."""
    from bot.config import Settings

    return Settings(
        _env_file=None,
        discord_token="test-token",
        lyrics_checkpoint=tiny_lyrics_checkpoint,
        music_folk_checkpoint=tiny_piano_checkpoint,
        music_chorale_checkpoint=tiny_piano_checkpoint,
        music_piano_checkpoint=tiny_piano_checkpoint,
        database_url=tmp_path / "bot.db",
        console_output_dir=tmp_path / "out",
        cooldown_seconds=0,
        midi_seconds_min=1,
        midi_seconds_default=4,
    )
