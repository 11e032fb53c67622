"""Give a lyrics checkpoint trained before word lexicons existed the lexicon that training
now writes (ml.text.lexicon, the judge of candidate replies), from the same training songs.

    python scripts/attach_lexicon.py runs/lyrics-hits3/best.pt \
        --data ../shared/data/lyrics/songdata.csv --data ../shared/data/lyrics/extra/hits.csv

The songs are selected and split by the flags the checkpoint records (minimum songs,
artists asked for, other artists as "any artist", validation fraction), and must come out
as many as it was trained on: other data is refused. The file is rewritten in place.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.errors import BalladeerError
from ml.text.lexicon import ArtistLexicon
from ml.text.meta import LyricsMeta
from ml.text.task import LyricsDataConfig, select_songs


def attach(path: Path, data: list[Path]) -> LyricsMeta:
    checkpoint = load_checkpoint(path, "lyrics")
    meta = LyricsMeta.from_dict(checkpoint.meta)
    recorded = meta.data
    config = LyricsDataConfig(
        data=data,
        artists=recorded.asked_artists or None,
        min_songs=recorded.min_songs,
        conditional=bool(meta.artists),
        validation_fraction=recorded.validation_fraction,
        others_as_any_artist=bool(recorded.others_as_any_artist),
    )
    selection = select_songs(config)
    if (len(selection.training), len(selection.val)) != (recorded.train_songs, recorded.val_songs):
        raise BalladeerError(
            f"{path} was trained on {recorded.train_songs} songs and validated on {recorded.val_songs}; "
            f"this data gives {len(selection.training)} and {len(selection.val)}. Pass the files it was "
            f"trained on, in the same order ({recorded.source})."
        )
    meta = replace(meta, lexicon=ArtistLexicon.build(selection.training, meta.artists))
    checkpoint.meta = meta.to_dict()
    save_checkpoint(path, checkpoint)  # the weights are stored as they were (fp16 stays fp16)
    return meta


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument(
        "--data", type=Path, action="append", required=True, help="a lyrics CSV it was trained on"
    )
    args = parser.parse_args()
    try:
        meta = attach(args.checkpoint, args.data)
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lexicon = meta.lexicon
    assert lexicon is not None
    words, entries = len(lexicon.vocabulary), len(lexicon.affinity)
    print(f"{args.checkpoint}: lexicon of {words:,} words, {entries:,} artist entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
