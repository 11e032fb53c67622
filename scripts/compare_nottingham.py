"""Where the two Nottingham conversions differ: the jukedeck MIDI files read through our
MIDI pipeline against the Boulanger-Lewandowski benchmark rolls of the same tunes.

Each MIDI file is paired with the benchmark tune whose melody it shares (ml/music/melody.py);
for the pairs, prints how lengths, registers, note density and the melody line compare,
by time signature, and the leakage counts that `--also-train` applies. Prints figures only:

    python scripts/compare_nottingham.py --midi ../shared/data/nottingham/jukedeck \\
        --benchmark ../shared/data/nottingham/bl/Nottingham.mat
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from ml.music.data import load_benchmark, load_midi_folder
from ml.music.melody import MATCH_THRESHOLD, MelodyIndex, melody_ngrams, similarity
from ml.music.pianoroll import LOWEST_PITCH, load_midi
from ml.names import DEFAULT_FRAMES_PER_BEAT


def meter(path: Path) -> str:
    signatures = load_midi(path).time_signature_changes
    return f"{signatures[0].numerator}/{signatures[0].denominator}" if signatures else "none"


def lowest_notes(roll: np.ndarray) -> np.ndarray:
    sounding = roll[roll.any(axis=1)]
    return np.argmax(sounding, axis=1) + LOWEST_PITCH


def top_line(roll: np.ndarray) -> np.ndarray:
    return roll.shape[1] - 1 - np.argmax(roll[:, ::-1], axis=1) + LOWEST_PITCH


def melody_agreement(ours: np.ndarray, theirs: np.ndarray, early: int) -> float:
    """Share of frames whose top note agrees when `theirs` runs `early` frames ahead of ours
    after its first frame (the benchmark's conversion shortens a tune's first note)."""
    n = min(len(ours) - early, len(theirs)) - 1
    return float(np.mean(top_line(ours[1 + early : 1 + early + n]) == top_line(theirs[1 : 1 + n])))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--midi", type=Path, default=Path("../shared/data/nottingham/jukedeck"))
    parser.add_argument("--benchmark", type=Path, default=Path("../shared/data/nottingham/bl/Nottingham.mat"))
    args = parser.parse_args()

    benchmark = load_benchmark(args.benchmark)
    tunes = load_midi_folder(args.midi, DEFAULT_FRAMES_PER_BEAT, transpose=True).tunes
    reference = [(t.roll, melody_ngrams(t.roll)) for ts in benchmark.values() for t in ts]
    rows = defaultdict(list)
    unmatched = 0
    for tune in tunes:
        melody = melody_ngrams(tune.roll)
        score, roll = max(((similarity(melody, m), r) for r, m in reference), key=lambda x: x[0])
        if score < MATCH_THRESHOLD:
            unmatched += 1
            continue
        ours = tune.roll
        aligned = abs(len(ours) - len(roll)) <= 2
        rows[meter(args.midi / tune.name)].append(
            {
                "similarity": score,
                "length_ratio": len(ours) / len(roll),
                "length_within_2": aligned,
                "melody_frames_equal": melody_agreement(ours, roll, 0) if aligned else np.nan,
                "melody_one_frame_early": melody_agreement(ours, roll, 1) if aligned else np.nan,
                "lowest_ours": float(np.median(lowest_notes(ours))),
                "lowest_theirs": float(np.median(lowest_notes(roll))),
                "notes_ours": float(ours.sum(1).mean()),
                "notes_theirs": float(roll.sum(1).mean()),
            }
        )

    print(f"{len(tunes)} MIDI files, {sum(map(len, rows.values()))} paired by melody, {unmatched} unpaired")
    header = (
        "meter  pairs  similarity  length ratio (p10/p50/p90)  ±2 frames  same melody (as is / 1 early)  "
    )
    print(header + "lowest note ours/theirs  notes per frame ours/theirs")
    for name, pairs in sorted(rows.items(), key=lambda item: -len(item[1])):
        if not any(p["length_within_2"] for p in pairs):
            continue
        column = {key: np.array([p[key] for p in pairs], dtype=float) for key in pairs[0]}
        ratio = np.quantile(column["length_ratio"], [0.1, 0.5, 0.9])
        print(
            f"{name:6s} {len(pairs):5d}  {np.median(column['similarity']):10.2f}  "
            f"{ratio[0]:.2f} / {ratio[1]:.2f} / {ratio[2]:.2f}{'':13s}"
            f"{column['length_within_2'].mean():9.0%}  {np.nanmean(column['melody_frames_equal']):14.0%} / "
            f"{np.nanmean(column['melody_one_frame_early']):<12.0%}  "
            f"{np.median(column['lowest_ours']):>10.0f} / {np.median(column['lowest_theirs']):<11.0f}  "
            f"{column['notes_ours'].mean():.2f} / {column['notes_theirs'].mean():.2f}"
        )
    index = MelodyIndex({split: [t.roll for t in ts] for split, ts in benchmark.items()})
    _, report = index.safe_for_training([t.roll for t in tunes])
    print(f"leakage rule over all {len(tunes)} files: {report.to_dict()}")


if __name__ == "__main__":
    main()
