"""Count-based baselines for the bits-per-character ladder: uniform, unigram, bigram.

Each is fitted on the training songs and scored on exactly the positions the LSTM is
scored on: every character of a song and its end token, given what came before.
"""

from __future__ import annotations

import math

import torch

BIGRAM_PRIOR_WEIGHT = 1.0  # pseudo-counts pulling each bigram row toward the unigram


def _pairs(sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    previous = torch.cat([s[:-1] for s in sequences])
    following = torch.cat([s[1:] for s in sequences])
    return previous, following


def baseline_bits_per_char(
    train: list[torch.Tensor], evaluated: list[torch.Tensor], vocab_size: int
) -> dict[str, float]:
    """Bits per character of the three baselines on `evaluated` (token id sequences)."""
    train_prev, train_next = _pairs(train)
    eval_prev, eval_next = _pairs(evaluated)
    # Add-one unigram over every token that can follow (all but <bos>).
    counts = torch.bincount(train_next, minlength=vocab_size).double() + 1.0
    counts[0] = 0.0
    unigram = counts / counts.sum()
    # Bigram with a Dirichlet prior centred on the unigram (interpolated smoothing).
    pair_counts = torch.zeros(vocab_size, vocab_size, dtype=torch.float64)
    pair_counts.index_put_(
        (train_prev, train_next), torch.ones(len(train_next), dtype=torch.float64), accumulate=True
    )
    bigram = (pair_counts + BIGRAM_PRIOR_WEIGHT * unigram) / (
        pair_counts.sum(dim=1, keepdim=True) + BIGRAM_PRIOR_WEIGHT
    )

    def bits(probabilities: torch.Tensor) -> float:
        return float(-probabilities.log2().mean())

    return {
        "uniform": math.log2(vocab_size - 1),
        "unigram": bits(unigram[eval_next]),
        "bigram": bits(bigram[eval_prev, eval_next]),
    }
