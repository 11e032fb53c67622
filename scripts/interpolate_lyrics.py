"""Interpolate a fine-tuned lyrics checkpoint back towards its start, and score the result.

    python scripts/interpolate_lyrics.py runs/lyrics/best.pt runs/lyrics-ft/best.pt \
        --weight 0.5 --data ../shared/data/lyrics/songdata.csv --out checkpoints/lyrics.pt

The weights are (1 − w)·START + w·TUNED (WiSE-FT). The result is scored on the validation
songs and written with those figures, fp16 like every shipped checkpoint.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from ml.checkpoint import interpolate, load_checkpoint, save_checkpoint
from ml.errors import BalladeerError
from ml.text.evaluate import evaluate_lyrics


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("start", type=Path, help="the checkpoint the fine-tuning started from")
    parser.add_argument("tuned", type=Path, help="the fine-tuned checkpoint")
    parser.add_argument("--weight", type=float, default=0.5, help="share of TUNED (default 0.5)")
    parser.add_argument("--data", type=Path, required=True, help="lyrics CSV (to score the result)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        start, tuned = load_checkpoint(args.start, "lyrics"), load_checkpoint(args.tuned, "lyrics")
        mixed = interpolate(start, tuned, args.weight)
        mixed.meta["interpolated"] = {
            "start": str(args.start),
            "tuned": str(args.tuned),
            "weight": args.weight,
        }
        with tempfile.TemporaryDirectory() as folder:  # scored as written (fp16); OUT untouched till then
            unscored = Path(folder) / "unscored.pt"
            save_checkpoint(unscored, mixed, half=True)
            bits = evaluate_lyrics(unscored, [args.data])["bits_per_char"]
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mixed.metrics = {"val_loss": bits * math.log(2), "val_bpc": bits}
    save_checkpoint(args.out, mixed, half=True)
    print(f"{args.out}: validation {bits:.4f} bits/char (weight {args.weight} of {args.tuned})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
