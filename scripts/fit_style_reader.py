"""Fit the style reader of /continue's style auto (ml.music.styles.StyleReader) on the
shipped music models: every model scores openings of each style's validation pieces
(64 beats; up to five windows of each longer piano piece), written to MIDI at sounding
pitch and read exactly as a user's file is, and a multinomial logistic regression learns
which style each set of scores means. Prints its 5-fold cross-validated accuracy and
writes checkpoints/style_reader.json.

    python scripts/fit_style_reader.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from ml.music.data import load_benchmark, transposed
from ml.music.generate import PianoGenerator
from ml.music.pianoroll import roll_to_midi
from ml.music.prime import read_prime
from ml.music.styles import StyleReader, read_style, weights_digest
from ml.paths import DEFAULT_MUSIC_CHECKPOINTS, DEFAULT_STYLE_READER

BENCHMARKS = {
    "folk": "nottingham/bl/Nottingham.mat",
    "chorale": "jsb/JSB_Chorales.mat",
    "piano": "bl_other/Piano_midi.mat",
}
OPENING_BEATS = 64
PIANO_WINDOWS = 5  # the piano set has few, long pieces


def openings(generator: PianoGenerator, path: Path, windows: int) -> list[bytes]:
    """MIDI files of the validation pieces' openings, at the pitch they sound."""
    fpb, made = generator.frames_per_beat, []
    for tune in load_benchmark(path)["valid"]:
        for w in range(windows):
            roll = tune.roll[w * OPENING_BEATS * fpb : (w + 1) * OPENING_BEATS * fpb]
            if len(roll) < OPENING_BEATS * fpb // 2 or not roll.any():
                continue
            sounding = transposed(torch.from_numpy(roll), generator.meta.sounding_shift).numpy()
            buffer = io.BytesIO()
            roll_to_midi(sounding, frames_per_beat=fpb).write(buffer)
            made.append(buffer.getvalue())
    return made


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=DEFAULT_STYLE_READER)
    args = parser.parse_args()
    generators = {s: PianoGenerator.from_checkpoint(p) for s, p in DEFAULT_MUSIC_CHECKPOINTS.items()}
    scores, labels = [], []
    for label, (style, benchmark) in enumerate(BENCHMARKS.items()):
        generator = generators[style]
        windows = PIANO_WINDOWS if style == "piano" else 1
        for data in openings(generator, args.data / benchmark, windows):
            prime = read_prime(data, 16, generator.frames_per_beat, generator.transpose)
            scores.append(list(read_style(generators, prime).nats_per_beat.values()))
            labels.append(label)
    x, y = np.array(scores), np.array(labels)
    model = LogisticRegression(max_iter=2000, class_weight="balanced")
    accuracy = cross_val_score(model, x, y, cv=5).mean()
    model.fit(x, y)
    counts = ", ".join(f"{s} {int((y == k).sum())}" for k, s in enumerate(BENCHMARKS))
    fitted_on = f"validation openings ({counts}); 5-fold cross-validated accuracy {accuracy:.1%}"
    reader = StyleReader(
        tuple(generators),
        tuple(weights_digest(g) for g in generators.values()),
        tuple(tuple(round(float(w), 6) for w in row) for row in model.coef_),
        tuple(round(float(b), 6) for b in model.intercept_),
        fitted_on,
    )
    reader.save(args.out)
    print(f"{args.out}: {fitted_on}")


if __name__ == "__main__":
    main()
