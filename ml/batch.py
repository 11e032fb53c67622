"""The one batch shape every model and the trainer agree on."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass(frozen=True)
class Batch:
    """B sequences of T steps, time on dim 1.

    `inputs` and `targets` are token ids (B, T) for text or frames (B, T, 88) for music;
    `mask` marks the steps that are scored; `context` holds a per-step conditioning id
    (the artist) or is None.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    context: torch.Tensor | None = None

    @property
    def steps(self) -> int:
        return self.inputs.shape[1]

    @property
    def scored(self) -> int:
        """How many steps the loss is averaged over."""
        return int(self.mask.sum())

    def slice(self, start: int, stop: int) -> Batch:
        """Steps [start, stop) of every sequence."""
        return self._index((slice(None), slice(start, stop)))

    def rows(self, start: int, stop: int) -> Batch:
        """Sequences [start, stop) of the batch, every step."""
        return self._index(slice(start, stop))

    def _index(self, index: slice | tuple[slice, slice]) -> Batch:
        return Batch(
            inputs=self.inputs[index],
            targets=self.targets[index],
            mask=self.mask[index],
            context=None if self.context is None else self.context[index],
        )

    def to(self, device: torch.device | str) -> Batch:
        move = {"non_blocking": True}
        return replace(
            self,
            inputs=self.inputs.to(device, **move),
            targets=self.targets.to(device, **move),
            mask=self.mask.to(device, **move),
            context=None if self.context is None else self.context.to(device, **move),
        )
