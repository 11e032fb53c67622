"""LSTM over piano-roll frames with an independent Bernoulli per key.

Input frame (88 keys, 0/1) → linear projection → n-layer LSTM → 88 logits for the next
frame. The loss is binary cross-entropy per key, summed over the keys: the exact negative
log-likelihood of the frame under independent Bernoullis, in nats.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.batch import Batch
from ml.music.pianoroll import KEYS

State = tuple[torch.Tensor, torch.Tensor]


@dataclass
class PianoLSTMConfig:
    keys: int = KEYS
    input_dim: int = 256
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


class PianoLSTM(nn.Module):
    def __init__(self, config: PianoLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.project = nn.Linear(config.keys, config.input_dim)
        self.lstm = nn.LSTM(
            config.input_dim,
            config.hidden,
            config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.keys)

    @torch.no_grad()
    def init_output_bias(self, key_frequencies: np.ndarray) -> None:
        """Start from the independent-Bernoulli model: bias = log-odds of each key.

        From zero biases (every key at p = 0.5, ~61 nats/frame) an LSTM spends its first
        hundreds of steps learning that most keys are silent, and stalls there.
        """
        p = torch.as_tensor(key_frequencies, dtype=torch.float32).clamp(1e-4, 1 - 1e-4)
        self.head.bias.copy_(torch.log(p) - torch.log1p(-p))

    def forward(self, frames: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Logits (B, T, 88) of the next frame after every frame, and the final state."""
        out, state = self.lstm(self.project(frames), state)
        return self.head(self.drop(out)), state

    def loss(self, batch: Batch, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Summed NLL (nats): per-key BCE summed over keys and over the scored frames."""
        logits, state = self.forward(batch.inputs, state)
        per_key = F.binary_cross_entropy_with_logits(logits.float(), batch.targets, reduction="none")
        return (per_key.sum(dim=-1) * batch.mask).sum(), state
