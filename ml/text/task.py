"""The lyrics training task: the CSV turned into train/validation corpora for the trainer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ml.batch import Batch
from ml.run_log import ReportUnit
from ml.text.artists import ArtistTable
from ml.text.baselines import baseline_bits_per_char
from ml.text.data import (
    LyricsCorpus,
    Song,
    artist_table,
    read_song_files,
    select_artists,
    split_songs,
    without_covers,
)
from ml.text.lexicon import ArtistLexicon
from ml.text.meta import LyricsData, LyricsMeta
from ml.text.vocab import Vocab


@dataclass
class LyricsDataConfig:
    data: list[Path]  # lyrics CSVs; an artist in several is one artist (see one_spelling)
    artists: list[str] | None = None
    min_songs: int = 1
    conditional: bool = True
    condition_dropout: float = 0.2
    validation_fraction: float = 0.1
    min_char_count: int = 3
    # Songs of the artists left out by `artists`/`min_songs` still teach the language: they
    # train the "any artist" condition (never validation, which stays the chosen artists').
    others_as_any_artist: bool = False


@dataclass(frozen=True)
class SongSelection:
    """The songs of the chosen artists, split, and the other artists' songs kept as "any artist"."""

    chosen: list[Song]
    train: list[Song]  # the chosen artists' training songs
    val: list[Song]
    extra: list[Song]  # other artists' songs (no covers of a validation song), as "any artist"

    @property
    def training(self) -> list[Song]:
        return self.train + self.extra


def select_songs(config: LyricsDataConfig) -> SongSelection:
    """Read, select and split the songs as the config says."""
    every_song = read_song_files(config.data)
    songs = select_artists(every_song, config.artists, config.min_songs)
    train_songs, val_songs = split_songs(songs, config.validation_fraction)
    extra: list[Song] = []
    if config.others_as_any_artist:
        chosen = {song.artist for song in songs}
        extra = without_covers([s for s in every_song if s.artist not in chosen], val_songs)
    return SongSelection(songs, train_songs, val_songs, extra)


class LyricsTask:
    kind = "lyrics"
    unit = "char"
    report = ReportUnit("bits/char", 1 / math.log(2))

    def __init__(
        self, train: LyricsCorpus, val: LyricsCorpus, summary: LyricsData, lexicon: ArtistLexicon
    ) -> None:
        self.train = train
        self.val = val
        self.summary = summary
        self.lexicon = lexicon

    @classmethod
    def from_config(
        cls,
        config: LyricsDataConfig,
        vocab: Vocab | None = None,
        artists: list[str] | None = None,
        grow: bool = False,
    ) -> LyricsTask:
        """Read, select and split the songs. `vocab`/`artists` are a starting checkpoint's
        tables: kept as they are when resuming, or with `grow` (fine-tuning on more data)
        extended by the characters and artists the data adds, appended so every id keeps
        its meaning (see CharLSTM.load_grown)."""
        selection = select_songs(config)
        train_songs = selection.training
        table, counts = artist_table(selection.train, config.conditional)
        texts = (s.text for s in train_songs)
        if vocab is None:
            vocab = Vocab.build(texts, config.min_char_count)
        elif grow:
            vocab = vocab.extended(texts, config.min_char_count)
        if artists is None:
            artists = table
        elif grow and table:
            artists = ArtistTable(artists).extended(table)
        train = LyricsCorpus(vocab, artists, train_songs, config.condition_dropout)
        val = LyricsCorpus(vocab, artists, selection.val)
        summary = LyricsData(
            source=", ".join(str(path) for path in config.data),
            songs=len(selection.chosen),
            train_songs=len(train_songs),
            val_songs=len(selection.val),
            artists=len(counts),
            train_chars=train.characters,
            val_chars=val.characters,
            min_songs=config.min_songs,
            validation_fraction=config.validation_fraction,
            song_counts=counts,
            any_artist_songs=len(selection.extra),
            asked_artists=list(config.artists or []),
            others_as_any_artist=config.others_as_any_artist,
        )
        lexicon = ArtistLexicon.build(train_songs, artists)
        return cls(train, val, summary, lexicon)

    def train_streams(self, batch_size: int, generator: torch.Generator) -> Batch:
        return self.train.streams(batch_size, generator)

    def train_sequences(self, batch_size: int, generator: torch.Generator) -> list[Batch]:
        return self.train.song_batches(batch_size, generator)

    def validation_batches(self, batch_size: int) -> list[Batch]:
        return self.val.song_batches(batch_size)

    def checkpoint_meta(self) -> dict[str, Any]:
        meta = LyricsMeta(self.train.vocab.to_list(), self.train.artists, self.summary, self.lexicon)
        return meta.to_dict()

    def baselines(self) -> dict[str, float]:
        bits = baseline_bits_per_char(self.train.sequences, self.val.sequences, len(self.train.vocab))
        return {name: value * math.log(2) for name, value in bits.items() if name != "uniform"}

    def named_metrics(self, loss_per_unit: float) -> dict[str, float]:
        return {"bpc": loss_per_unit / math.log(2)}
