"""Interpolate two checkpoints of one model, and score the result on validation data.

    python scripts/interpolate.py runs/lyrics/best.pt runs/lyrics-ft/best.pt \
        --weight 0.5 --data ../shared/data/lyrics/songdata.csv --out runs/lyrics-songdata.pt
    python scripts/interpolate.py runs/music-chorale/best.pt runs/music-chorale/last.pt \
        --weight 0.5 --data ../shared/data/jsb/JSB_Chorales.mat --out checkpoints/music-chorale.pt

The weights are (1 − w)·START + w·TUNED: a fine-tuned model pulled back towards where it
started (WiSE-FT), or a run's best checkpoint averaged with its last (which lands in a
flatter spot than either). The result is scored on the validation data (lyrics: the
model's artists' validation songs of the CSV; music: a benchmark file's valid split or a
MIDI folder's validation tunes) and written with that figure, fp16 like every shipped
checkpoint.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from ml.checkpoint import interpolate, load_checkpoint, save_checkpoint
from ml.errors import BalladeerError
from ml.music.evaluate import evaluate_piano
from ml.text.evaluate import evaluate_lyrics


def validation_metrics(path: Path, kind: str, data: Path) -> tuple[dict[str, float], str]:
    """The checkpoint's validation figures as training records them, and a line saying them."""
    if kind == "lyrics":
        bits = evaluate_lyrics(path, [data])["bits_per_char"]
        return {"val_loss": bits * math.log(2), "val_bpc": bits}, f"validation {bits:.4f} bits/char"
    nats = evaluate_piano(path, data, "val")["nll_per_frame"]  # a benchmark's valid, a folder's val
    return {"val_loss": nats, "val_nll_per_frame": nats}, f"validation {nats:.4f} nats/frame"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("start", type=Path, help="the checkpoint the fine-tuning started from (or best.pt)")
    parser.add_argument("tuned", type=Path, help="the fine-tuned checkpoint (or the same run's last.pt)")
    parser.add_argument("--weight", type=float, default=0.5, help="share of TUNED (default 0.5)")
    parser.add_argument("--data", type=Path, required=True, help="the data to score the result on")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        start = load_checkpoint(args.start)
        mixed = interpolate(start, load_checkpoint(args.tuned, start.kind), args.weight)
        mixed.meta["interpolated"] = {
            "start": str(args.start),
            "tuned": str(args.tuned),
            "weight": args.weight,
        }
        with tempfile.TemporaryDirectory() as folder:  # scored as written (fp16); OUT untouched till then
            unscored = Path(folder) / "unscored.pt"
            save_checkpoint(unscored, mixed, half=True)
            mixed.metrics, figure = validation_metrics(unscored, start.kind, args.data)
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    save_checkpoint(args.out, mixed, half=True)
    print(f"{args.out}: {figure} (weight {args.weight} of {args.tuned})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
