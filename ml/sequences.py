"""Batching variable-length sequences for next-step prediction, for text and music alike.

Each sequence is a tensor with time on dim 0 (token ids, or piano-roll frames). Inputs
are steps [0, T-1), targets steps [1, T): the first step of a sequence is given, never
predicted. Two layouts:

- streams: sequences laid end to end in B parallel rows, so an epoch reads every step
  once with no padding (truncated BPTT carries the state along a row);
- padded: whole sequences grouped by length, so exact BPTT wastes little on padding.
"""

from __future__ import annotations

import torch

from ml.batch import Batch


def stream_batch(
    sequences: list[torch.Tensor],
    contexts: torch.Tensor | None,
    batch_size: int,
    order: list[int],
) -> Batch:
    """The sequences in `order`, laid into `batch_size` rows; context ids follow each step."""
    steps = torch.cat([sequences[i] for i in order])
    starts = torch.zeros(len(steps), dtype=torch.bool)  # a sequence's first step: not a target
    offset = 0
    for i in order:
        starts[offset] = True
        offset += len(sequences[i])
    owner = None
    if contexts is not None:
        owner = torch.cat([contexts[i].expand(len(sequences[i])) for i in order])

    length = -(-len(steps) // batch_size)  # every step lands in some row
    total = length * batch_size + 1  # the last row reads one step past its end
    pad = total - len(steps)
    steps = torch.cat([steps, steps.new_zeros((pad, *steps.shape[1:]))])
    valid = torch.cat([torch.ones(len(starts), dtype=torch.bool), torch.zeros(pad, dtype=torch.bool)])
    starts = torch.cat([starts, torch.zeros(pad, dtype=torch.bool)])
    index = (torch.arange(batch_size) * length)[:, None] + torch.arange(length + 1)[None, :]
    rows, ok, first = steps[index], valid[index], starts[index]
    mask = ok[:, 1:] & ok[:, :-1] & ~first[:, 1:]
    context = None
    if owner is not None:
        owner = torch.cat([owner, owner.new_zeros(pad)])
        context = owner[index][:, :-1]
    return Batch(rows[:, :-1], rows[:, 1:], mask, context)


def padded_batch(sequences: list[torch.Tensor], contexts: torch.Tensor | None) -> Batch:
    """Whole sequences as one batch, zero-padded at the end and masked."""
    longest = max(len(s) for s in sequences)
    first = sequences[0]
    steps = first.new_zeros((len(sequences), longest, *first.shape[1:]))
    mask = torch.zeros(len(sequences), longest - 1, dtype=torch.bool)
    for row, seq in enumerate(sequences):
        steps[row, : len(seq)] = seq
        mask[row, : len(seq) - 1] = True
    context = None if contexts is None else contexts[:, None].expand(-1, longest - 1).contiguous()
    return Batch(steps[:, :-1], steps[:, 1:], mask, context)


def padded_batches(
    sequences: list[torch.Tensor],
    contexts: torch.Tensor | None,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> list[Batch]:
    """Sequences sorted by length and grouped; group order shuffled when a generator is given."""
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if generator is not None:
        groups = [groups[i] for i in torch.randperm(len(groups), generator=generator)]
    return [
        padded_batch([sequences[i] for i in g], None if contexts is None else contexts[g]) for g in groups
    ]


def shuffled(count: int, generator: torch.Generator | None) -> list[int]:
    if generator is None:
        return list(range(count))
    return torch.randperm(count, generator=generator).tolist()
