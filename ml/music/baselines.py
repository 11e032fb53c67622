"""The piano baseline: every key played with its training frequency, independently of
everything else. The model's figures mean something only against it."""

from __future__ import annotations

import numpy as np

from ml.music.data import PianoCorpus


def scores(nll: float, tp: int, fp: int, fn: int, frames: int) -> dict[str, float]:
    """NaN per frame for a set with no scored frames (e.g. no unseen tunes in a split)."""
    return {
        "nll_per_frame": nll / frames if frames else float("nan"),
        "frame_accuracy": tp / max(tp + fp + fn, 1),
    }


def score_independent_bernoulli(frequencies: np.ndarray, corpus: PianoCorpus) -> dict[str, float]:
    """The same metrics for a model that plays key k with its training frequency, always."""
    targets = np.concatenate([t.roll[1:] for t in corpus.tunes])
    log_on, log_off = np.log(frequencies), np.log1p(-frequencies)
    nll = -float((targets * log_on + ~targets * log_off).sum())
    predicted = np.broadcast_to(frequencies > 0.5, targets.shape)
    tp = int((predicted & targets).sum())
    fp = int((predicted & ~targets).sum())
    fn = int((~predicted & targets).sum())
    return scores(nll, tp, fp, fn, len(targets))
