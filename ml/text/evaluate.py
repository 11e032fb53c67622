"""Score a lyrics checkpoint on songs: the bits-per-character ladder, per artist.

For a conditional model it also scores every song as "any artist", which shows what
knowing the artist buys.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import torch

from ml.checkpoint import load_checkpoint, restore_model
from ml.errors import BalladeerError
from ml.sequences import padded_batch
from ml.text.artists import ArtistTable
from ml.text.baselines import baseline_bits_per_char
from ml.text.data import LyricsCorpus, read_song_files, spelled_as, split_songs
from ml.text.meta import LyricsMeta
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.vocab import UNK, Vocab

EVAL_BATCH_SIZE = 32


@torch.no_grad()
def song_nats(model: CharLSTM, corpus: LyricsCorpus, any_artist: bool, device: torch.device) -> list[float]:
    """Summed negative log-likelihood (nats) of each song, in the corpus's song order."""
    order = sorted(range(len(corpus.sequences)), key=lambda i: len(corpus.sequences[i]))
    totals = [0.0] * len(order)
    for start in range(0, len(order), EVAL_BATCH_SIZE):
        rows = order[start : start + EVAL_BATCH_SIZE]
        artists = corpus.song_artists[rows]
        if any_artist:
            artists = torch.zeros_like(artists)
        batch = padded_batch([corpus.sequences[i] for i in rows], artists).to(device)
        nll, _ = model.sequence_nll(batch)
        for row, value in zip(rows, nll.tolist(), strict=True):
            totals[row] = value
    return totals


def evaluate_lyrics(
    checkpoint_path: str | Path, data: list[Path], split: str = "val", device: str = "cpu", min_songs: int = 1
) -> dict[str, Any]:
    """Bits per character on the files' songs (their artists' validation songs, or all), of
    the artists with at least `min_songs` songs in the files: the 51 artists with 20 or
    more in songdata.csv, say, whose validation songs the first lyrics model was measured on."""
    if split not in ("val", "all"):
        raise BalladeerError(f"--split must be val or all, not {split!r}.")
    checkpoint = load_checkpoint(checkpoint_path, "lyrics", map_location=device)
    meta = LyricsMeta.from_dict(checkpoint.meta)
    vocab, artists = Vocab(meta.vocab), meta.artists
    model = restore_model(CharLSTM(CharLSTMConfig(**checkpoint.model_config)), checkpoint, device)

    trained_on = meta.data.song_counts  # the artists trained under their own name
    songs = spelled_as(read_song_files(data), ArtistTable(trained_on))
    in_files = Counter(s.artist for s in songs)
    if split == "val":  # the model's own validation songs: its artists', split by its rule
        songs = [s for s in songs if s.artist in trained_on]
        if not songs:
            raise BalladeerError(
                f"{', '.join(map(str, data))} holds no songs by the artists this model was trained on; "
                "--split all scores every song (other artists' as any artist)."
            )
        train_songs, scored = split_songs(songs, meta.data.validation_fraction)
    else:  # every song; an artist the model does not know is scored as "any artist"
        train_songs, scored = [], songs
    scored = [s for s in scored if in_files[s.artist] >= min_songs]
    if not scored:
        raise BalladeerError(f"No artist in {', '.join(map(str, data))} has {min_songs} songs to score.")
    corpus = LyricsCorpus(vocab, artists, scored)
    baselines = {}  # count models fitted on training songs of the same file: --split val only
    if train_songs:
        train_corpus = LyricsCorpus(vocab, artists, train_songs)
        baselines = baseline_bits_per_char(train_corpus.sequences, corpus.sequences, len(vocab))
    to_bits = 1 / math.log(2)
    lengths = [len(seq) - 1 for seq in corpus.sequences]
    nats = song_nats(model, corpus, any_artist=False, device=torch.device(device))
    nats_any = (
        song_nats(model, corpus, any_artist=True, device=torch.device(device)) if model.conditional else None
    )

    per_artist: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"songs": 0, "chars": 0, "nats": 0.0, "nats_any": 0.0}
    )
    for i, song in enumerate(scored):
        entry = per_artist[song.artist]
        entry["songs"] += 1
        entry["chars"] += lengths[i]
        entry["nats"] += nats[i]
        if nats_any is not None:
            entry["nats_any"] += nats_any[i]
    report_artists = {}
    for name, entry in sorted(per_artist.items(), key=lambda kv: -kv[1]["chars"]):
        row = {
            "known_artist": name in trained_on,
            "songs": entry["songs"],
            "chars": entry["chars"],
            "bits_per_char": entry["nats"] / entry["chars"] * to_bits,
        }
        if nats_any is not None:
            row["bits_per_char_any_artist"] = entry["nats_any"] / entry["chars"] * to_bits
        report_artists[name] = row

    chars = sum(lengths)
    report: dict[str, Any] = {
        "checkpoint": str(checkpoint_path),
        "data": [str(path) for path in data],
        "split": split,
        "min_songs": min_songs,
        "songs": len(scored),
        "chars": chars,
        "bits_per_char": sum(nats) / chars * to_bits,
        # The count baselines are fitted on training songs of the same file: --split val only.
        "baselines": baselines,
        "per_artist": report_artists,
        "unknown_char_rate": sum(int((s == UNK).sum()) for s in corpus.sequences) / chars,
    }
    if nats_any is not None:
        report["bits_per_char_any_artist"] = sum(nats_any) / chars * to_bits
    return report
