"""Give a lyrics checkpoint its stand-ins: every artist credited on at least 8 songs of the
data whom the model does not know, with the known artist it writes in their stead
(ml.text.stand_ins).

    python scripts/attach_stand_ins.py checkpoints/lyrics.pt \
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
from ml.text.data import read_song_files
from ml.text.meta import LyricsMeta
from ml.text.stand_ins import MIN_STAND_IN_SONGS, stand_ins


def attach(path: Path, data: list[Path], min_songs: int) -> dict[str, str]:
    checkpoint = load_checkpoint(path, "lyrics")
    meta = LyricsMeta.from_dict(checkpoint.meta)
    table = ArtistTable(meta.artists, meta.data.song_counts)
    found = stand_ins(read_song_files(data), table, min_songs)
    checkpoint.meta = replace(meta, stand_ins=found).to_dict()
    save_checkpoint(path, checkpoint)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, action="append", required=True, help="a lyrics CSV")
    parser.add_argument("--min-songs", type=int, default=MIN_STAND_IN_SONGS)
    args = parser.parse_args()
    try:
        found = attach(args.checkpoint, args.data, args.min_songs)
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.checkpoint}: {len(found):,} stand-ins")
    for name in ("Olivia Rodrigo", "Dua Lipa", "Nirvana", "Harry Styles"):
        print(f"  {name} -> {found.get(name, '(none)')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
