"""A piano checkpoint on both readings of Nottingham: the benchmark rolls and the jukedeck
MIDI files read through our MIDI pipeline (the validation split by the project's rule).

The MIDI validation tunes are also scored on the subset whose melody matches a benchmark
valid/test tune and no training tune, i.e. tunes no model here has trained on in any form
(the other MIDI validation tunes have a benchmark training copy), and with every note below
middle C moved up an octave, the register the benchmark voices chords in. Prints figures only:

    python scripts/eval_midi_path.py --checkpoint checkpoints/music-folk.pt --bl-split valid
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.checkpoint import load_checkpoint, restore_model
from ml.music.evaluate import score_midi_path
from ml.music.meta import PianoMeta
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.paths import DEFAULT_MUSIC_CHECKPOINT

LABELS = {
    "midi_val": "MIDI validation split",
    "midi_val_unseen": "  of which unseen tunes",
    "midi_val_chords_up": "  chords an octave up",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_MUSIC_CHECKPOINT)
    parser.add_argument("--benchmark", type=Path, default=Path("../shared/data/nottingham/bl/Nottingham.mat"))
    parser.add_argument("--midi", type=Path, default=Path("../shared/data/nottingham/jukedeck"))
    parser.add_argument("--bl-split", choices=("valid", "test"), default="valid")
    args = parser.parse_args()

    checkpoint = load_checkpoint(args.checkpoint, "piano")
    model = restore_model(PianoLSTM(PianoLSTMConfig(**checkpoint.model_config)), checkpoint, "cpu")
    report = score_midi_path(
        model, PianoMeta.from_dict(checkpoint.meta), args.benchmark, args.midi, args.bl_split
    )
    print(f"{args.checkpoint} ({model.config.head} head)")
    bl = report[f"benchmark_{args.bl_split}"]["nll_per_frame"]
    for name, s in report.items():
        label = LABELS.get(name, f"benchmark {args.bl_split}")
        print(
            f"  {label:24s} {s['tunes']:4d} tunes {s['frames']:7,d} frames  "
            f"NLL/frame {s['nll_per_frame']:6.3f}  frame accuracy {s['frame_accuracy']:.3f}"
            + (f"  ({s['nll_per_frame'] - bl:+.3f} vs benchmark)" if name in LABELS else "")
        )


if __name__ == "__main__":
    main()
