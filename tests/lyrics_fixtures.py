"""Synthetic lyrics corpora and tiny trained models for the tests (no real data)."""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

import torch

from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.task import LyricsDataConfig, LyricsTask
from ml.training import Trainer
from tests.tiny_training import tiny_train_config

# Two artists with disjoint alphabets, so a sample shows whose style it follows.
ALPHA_LINE = "abab aab\n"
BETA_LINE = "xyxy xxy\n"


def write_lyrics_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A Kaggle-format CSV (artist,song,link,text) with the dataset's trailing double spaces."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["artist", "song", "link", "text"])
        for artist, song, text in rows:
            kaggle_text = re.sub(r"(?<!\r)\n", "  \n", text)
            writer.writerow([artist, song, f"/a/{artist}/{song}.html", kaggle_text])
    return path


def two_artist_rows(songs_per_artist: int = 24, lines: int = 12) -> list[tuple[str, str, str]]:
    """Songs of one artist differ in their last line (the song number in the artist's own
    alphabet), so each is its own lyric and the split can put it on either side."""
    rows = []
    for i in range(songs_per_artist):
        number = f"{i + 1:b}"
        rows.append(("Alpha", f"Song {i}", ALPHA_LINE * lines + number.translate(str.maketrans("01", "ab"))))
        rows.append(("Beta", f"Tune {i}", BETA_LINE * lines + number.translate(str.maketrans("01", "xy"))))
    return rows


def train_tiny_lyrics(
    csv_path: Path, out: Path, epochs: int = 40, conditional: bool = True, **train_kwargs
) -> Path:
    """Train a 1x48 LSTM in seconds; returns its best.pt."""
    task = LyricsTask.from_config(
        LyricsDataConfig(data=[csv_path], conditional=conditional, validation_fraction=0.2)
    )
    config = CharLSTMConfig(
        vocab_size=len(task.train.vocab),
        n_artists=len(task.train.artists),
        embed_dim=16,
        artist_dim=8,
        hidden=48,
        layers=1,
        dropout=0.0,
    )
    torch.manual_seed(0)
    Trainer(task, CharLSTM(config), tiny_train_config(out, epochs, **train_kwargs), config.to_dict()).fit()
    return out / "best.pt"


def rude_rows(songs: int = 16) -> list[tuple[str, str, str]]:
    """Songs whose second line holds a slur (ROT13 here, as in ml/text/safety.py) and whose
    third swears: a model trained on them writes both, as models trained on real lyrics do."""
    slur = codecs.decode("avttnf", "rot13")
    verse = f"we sing along\nthe {slur} in the night\nfuck it all\n"
    return [("Gamma", f"Rude {i}", verse * 4 + f"number {i}") for i in range(songs)]
