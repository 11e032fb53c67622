"""Give a lyrics checkpoint what it knows of artists beyond its weights, from the data:

- stand-ins: every artist credited on at least 8 songs whom the model does not know, with
  the known artist it writes in their stead (ml.text.stand_ins);
- swearing: each known artist's profane words per 1,000 in their own training songs, which bounds
  what a reply in their style may hold (ml.text.generate).

    python scripts/attach_artist_facts.py checkpoints/lyrics.pt \
        --data ../shared/data/lyrics/songdata.csv --data ../shared/data/lyrics/extra/hits.csv

The file is rewritten in place, the weights as they were.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.errors import BalladeerError
from ml.text.artists import ArtistTable
from ml.text.data import read_song_files, split_songs
from ml.text.meta import LyricsMeta
from ml.text.safety import profanity_rate
from ml.text.stand_ins import MIN_STAND_IN_SONGS, stand_ins


def attach(path: Path, data: list[Path], min_songs: int) -> LyricsMeta:
    checkpoint = load_checkpoint(path, "lyrics")
    meta = LyricsMeta.from_dict(checkpoint.meta)
    table = ArtistTable(meta.artists, meta.data.song_counts)
    songs = read_song_files(data)
    training, _ = split_songs(songs, meta.data.validation_fraction)  # rates from what it learnt
    own: dict[str, list[str]] = {}
    for song in training:
        if (name := table.spelling(song.artist)) is not None:
            own.setdefault(name, []).append(song.text)
    swearing = {name: round(profanity_rate(texts), 3) for name, texts in own.items()}
    meta = replace(meta, stand_ins=stand_ins(songs, table, min_songs), swearing=swearing)
    checkpoint.meta = meta.to_dict()
    save_checkpoint(path, checkpoint)
    return meta


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, action="append", required=True, help="a lyrics CSV")
    parser.add_argument("--min-songs", type=int, default=MIN_STAND_IN_SONGS)
    args = parser.parse_args()
    try:
        meta = attach(args.checkpoint, args.data, args.min_songs)
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    never = sum(rate == 0 for rate in meta.swearing.values())
    print(
        f"{args.checkpoint}: {len(meta.stand_ins):,} stand-ins; "
        f"swearing rates of {len(meta.swearing)} artists"
    )
    print(f"  {never} of them never swear")
    for name in ("Olivia Rodrigo", "Dua Lipa", "Nirvana", "Harry Styles"):
        print(f"  {name} -> {meta.stand_ins.get(name, '(none)')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
