"""Does one benchmark set share pieces with another's held-out splits? The leakage check for
pre-training a model on one set (MuseData) before fine-tuning it on another (Piano-midi.de).

For each split pair, prints the best melody similarity (ml/music/melody.py: Jaccard overlap
of top-line interval 6-grams) of any piece of the target split to any piece of the source
split, and how many target pieces reach the match threshold. Prints figures only:

    python scripts/melody_overlap.py --source ../shared/data/bl_other/MuseData.mat \\
        --target ../shared/data/bl_other/Piano_midi.mat
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.music.data import load_benchmark
from ml.music.melody import MATCH_THRESHOLD, MelodyIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the set trained on first (.mat/.pickle)")
    parser.add_argument(
        "--target", type=Path, required=True, help="the set whose held-out pieces must stay unseen"
    )
    args = parser.parse_args()
    source = load_benchmark(args.source)
    target = load_benchmark(args.target)
    index = MelodyIndex({split: [t.roll for t in tunes] for split, tunes in source.items()})
    print(f"match threshold {MATCH_THRESHOLD}")
    for source_split in source:
        for target_split, tunes in target.items():
            scores = [index.closest(t.roll, [source_split]) for t in tunes]
            matched = sum(s >= MATCH_THRESHOLD for s in scores)
            print(
                f"{args.source.stem} {source_split:<5} vs {args.target.stem} {target_split:<5}: "
                f"best {max(scores):.3f}, {matched} of {len(scores)} pieces match"
            )


if __name__ == "__main__":
    main()
