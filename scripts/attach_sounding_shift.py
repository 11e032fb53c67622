"""Record in a piano checkpoint where its training data lies against sounding pitch
(PianoMeta.sounding_shift), for checkpoints trained before it was recorded. The JSB
benchmark's chorales are written an octave above Bach's pitch:

    python scripts/attach_sounding_shift.py checkpoints/music-chorale.pt -12

A user's piece is then read an octave up into the model's register (so the chorale model
hears a real chorale as a chorale) and every piece is written back down. The file is
rewritten in place; the weights are stored as they were.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.music.meta import PianoMeta


def attach(path: Path, semitones: int) -> PianoMeta:
    checkpoint = load_checkpoint(path, "piano")
    meta = replace(PianoMeta.from_dict(checkpoint.meta), sounding_shift=semitones)
    checkpoint.meta = meta.to_dict()
    save_checkpoint(path, checkpoint)
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument(
        "semitones", type=int, help="from the data's register to sounding pitch (-12: an octave down)"
    )
    args = parser.parse_args()
    meta = attach(args.checkpoint, args.semitones)
    print(f"{args.checkpoint}: sounding_shift {meta.sounding_shift:+d}")


if __name__ == "__main__":
    main()
