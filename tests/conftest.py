import pytest
import torch

from tests.lyrics_fixtures import train_tiny_lyrics, two_artist_rows, write_lyrics_csv


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
