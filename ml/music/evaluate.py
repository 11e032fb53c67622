"""Score a piano checkpoint with the polyphonic-music benchmark protocol.

NLL per frame: nats, summed over the 88 keys, averaged over every scored frame (all but
each tune's first), as in Boulanger-Lewandowski et al. 2012 and Bai et al. 2018; the mean
of each piece's own average is reported beside it. Frame
accuracy: TP / (TP + FP + FN), pooled over all scored frames and keys, predicting each
key's likelier outcome (with the NADE head: key by key, given the predicted keys below).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.checkpoint import load_checkpoint, restore_model
from ml.errors import BalladeerError
from ml.music.baselines import score_independent_bernoulli, scores
from ml.music.data import PianoCorpus, Tune, load_benchmark, load_midi_folder, split_folder
from ml.music.melody import MATCH_THRESHOLD, MelodyIndex
from ml.music.meta import PianoMeta
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.pianoroll import LOWEST_PITCH
from ml.music.task import PianoDataConfig, load_piano_splits

EVAL_BATCH_SIZE = 32
FOLDER_SPLITS = ("val", "all", "train")
MIDDLE_C = 60
OCTAVE = 12  # semitones
BENCHMARK_SPLITS = {"train": "train", "valid": "val", "val": "val", "test": "test", "all": "all"}


@torch.no_grad()
def score_model(model: PianoLSTM, corpus: PianoCorpus, device: torch.device) -> dict[str, float]:
    """The benchmark figures, with NLL averaged both ways: frame-weighted (total NLL over
    total frames, as the published tables and Bai et al.'s code do) and per piece (the mean
    of each piece's NLL per frame, where a long piece counts as much as a short one)."""
    nll, tp, fp, fn = 0.0, 0, 0, 0
    piece_means = []
    for batch in corpus.tune_batches(EVAL_BATCH_SIZE):
        batch = batch.to(device)
        context, _ = model.features(batch.inputs)
        piece_nll = model.scored_nll(context, batch)
        nll += float(piece_nll.sum())
        frames = batch.mask.sum(dim=1)
        piece_means += (piece_nll[frames > 0] / frames[frames > 0]).tolist()
        predicted = model.predict(context) & batch.mask[..., None].bool()
        truth = batch.targets.bool() & batch.mask[..., None]
        tp += int((predicted & truth).sum())
        fp += int((predicted & ~truth).sum())
        fn += int((~predicted & truth).sum())
    return {**scores(nll, tp, fp, fn, corpus.frames), "nll_per_frame_piece_mean": _mean(piece_means)}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def evaluate_piano(
    checkpoint_path: str | Path, data: str | Path, split: str = "val", device: str = "cpu"
) -> dict[str, Any]:
    checkpoint = load_checkpoint(checkpoint_path, "piano", map_location=device)
    meta = PianoMeta.from_dict(checkpoint.meta)
    config = PianoDataConfig(
        data=Path(data),
        frames_per_beat=meta.frames_per_beat,
        transpose=meta.transpose,
        validation_fraction=meta.data.validation_fraction,
    )
    loaded = load_piano_splits(config)
    if loaded.source == "benchmark":
        if split not in BENCHMARK_SPLITS:
            raise BalladeerError(
                f"--split for a benchmark file must be train, valid, test or all, not {split!r}."
            )
        name = BENCHMARK_SPLITS[split]
    else:
        if split not in FOLDER_SPLITS:
            raise BalladeerError(f"--split for a MIDI folder must be val, all or train, not {split!r}.")
        name = split
    tunes = [t for tunes in loaded.splits.values() for t in tunes] if name == "all" else loaded.splits[name]
    corpus = PianoCorpus(tunes)
    model = restore_model(PianoLSTM(PianoLSTMConfig(**checkpoint.model_config)), checkpoint, device)

    scores = score_model(model, corpus, torch.device(device))
    baseline = score_independent_bernoulli(PianoCorpus(loaded.splits["train"]).key_frequencies(), corpus)
    return {
        "checkpoint": str(checkpoint_path),
        "data": str(data),
        "split": split,
        "tunes": len(tunes),
        "frames": corpus.frames,
        **scores,
        "baselines": {"independent_bernoulli": baseline["nll_per_frame"]},
        "baseline_frame_accuracy": {"independent_bernoulli": baseline["frame_accuracy"]},
    }


def accompaniment_up_an_octave(roll: np.ndarray) -> np.ndarray:
    """`roll` with every note below middle C moved up an octave (jukedeck voices Nottingham's
    chords an octave below the benchmark)."""
    below = MIDDLE_C - LOWEST_PITCH
    lifted = roll.copy()
    lifted[:, :below] = False
    lifted[:, OCTAVE : below + OCTAVE] |= roll[:, :below]
    return lifted


def score_midi_path(
    model: PianoLSTM,
    meta: PianoMeta,
    benchmark: str | Path,
    midi_folder: str | Path,
    benchmark_split: str = "valid",
) -> dict[str, dict[str, float]]:
    """One model on both readings of a tune set: a benchmark split, and the validation
    split of a MIDI folder read through our pipeline (the project's split rule).

    The MIDI validation tunes are also scored on the subset whose melody matches a
    benchmark held-out tune and no training tune: tunes that no model trained with the
    leakage rule has seen in any form; and with their accompaniment an octave up, which
    shows how much of a gap is the register the two packagings voice chords in.
    """
    splits = load_benchmark(benchmark)
    folder = load_midi_folder(midi_folder, meta.frames_per_beat, meta.transpose)
    _, midi_val = split_folder(folder.tunes, meta.data.validation_fraction)
    index = MelodyIndex({split: [t.roll for t in tunes] for split, tunes in splits.items()})
    unseen = [
        t
        for t in midi_val
        if index.closest(t.roll, ["valid", "test"]) >= MATCH_THRESHOLD
        and index.closest(t.roll, ["train"]) < MATCH_THRESHOLD
    ]
    readings = {
        f"benchmark_{benchmark_split}": splits[benchmark_split],
        "midi_val": midi_val,
        "midi_val_unseen": unseen,
        "midi_val_chords_up": [Tune(t.name, accompaniment_up_an_octave(t.roll)) for t in midi_val],
    }
    report = {}
    for name, tunes in readings.items():
        corpus = PianoCorpus(tunes)
        report[name] = {
            "tunes": len(tunes),
            "frames": corpus.frames,
            **score_model(model, corpus, torch.device("cpu")),
        }
    return report
