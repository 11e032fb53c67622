"""LSTM over piano-roll frames, with one of two outputs for the next frame.

Input frame (88 keys, 0/1) → linear projection → n-layer LSTM → an output over the next
frame: `sigmoid`, an independent Bernoulli per key (88 logits), or `nade`, the keys
predicted one after another (ml/music/nade.py). Either way the loss is the exact
negative log-likelihood of the frame in nats, summed over the keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.batch import Batch
from ml.errors import BalladeerError
from ml.music.nade import NADEHead
from ml.music.pianoroll import KEYS
from ml.music.voicing import VoicedDraw, voiced_frame
from ml.names import HEADS

State = tuple[torch.Tensor, torch.Tensor]


@dataclass
class PianoLSTMConfig:
    keys: int = KEYS
    input_dim: int = 256
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.3
    head: str = "sigmoid"  # "sigmoid": independent keys; "nade": keys conditioned on lower keys
    nade_hidden: int = 128

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise BalladeerError(f"--head must be one of {', '.join(HEADS)}, not {self.head!r}.")

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
        self.head = nn.Linear(config.hidden, config.keys)  # per-key logits; NADE's key biases
        self.nade = None
        if config.head == "nade":
            self.nade = NADEHead(config.hidden, config.keys, config.nade_hidden)

    @torch.no_grad()
    def init_output_bias(self, key_frequencies: np.ndarray) -> None:
        """Start from the independent-Bernoulli model: bias = log-odds of each key.

        From zero biases (every key at p = 0.5, ~61 nats/frame) an LSTM spends its first
        hundreds of steps learning that most keys are silent, and stalls there.
        """
        p = torch.as_tensor(key_frequencies, dtype=torch.float32).clamp(1e-4, 1 - 1e-4)
        self.head.bias.copy_(torch.log(p) - torch.log1p(-p))

    def features(self, frames: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """The LSTM's output (B, T, H) after every frame, dropout applied, and the final state."""
        out, state = self.lstm(self.project(frames), state)
        return self.drop(out), state

    def sequence_nll(self, batch: Batch, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Exact NLL (nats) of each sequence (B,) over its scored frames, and the final state:
        the one likelihood that training, evaluation, the reports and style detection share."""
        context, state = self.features(batch.inputs, state)
        return self.scored_nll(context, batch), state

    def scored_nll(self, context: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Each sequence's NLL (B,) over its scored frames, from the LSTM output already run
        (for a caller that also predicts from it)."""
        return (self.frame_nll(context, batch.targets) * batch.mask).sum(dim=1)

    def loss(self, batch: Batch, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Summed NLL (nats) of the scored frames, each summed over its keys."""
        nll, state = self.sequence_nll(batch, state)
        return nll.sum(), state

    def frame_nll(self, context: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Exact NLL (nats) of each next frame (…,) given the LSTM output before it."""
        key_bias = self.head(context)
        if self.nade is not None:
            return self.nade.nll(context, key_bias, frames)
        return F.binary_cross_entropy_with_logits(key_bias.float(), frames, reduction="none").sum(-1)

    @torch.no_grad()
    def predict(self, context: torch.Tensor) -> torch.Tensor:
        """The likeliest next frame (…, 88) as bools: each key's likelier outcome (NADE: key
        by key, given the keys below)."""
        key_bias = self.head(context)
        if self.nade is not None:
            return self.nade.greedy(context, key_bias)
        return key_bias > 0

    @torch.no_grad()
    def sample(
        self,
        context: torch.Tensor,
        temperatures: torch.Tensor,
        generators: list[torch.Generator],
        max_notes: list[int | None],
        sampling: list[bool],
        logit_bias: torch.Tensor | None = None,
        voiced: list[VoicedDraw | None] | None = None,
    ) -> list[np.ndarray]:
        """One next frame per row of `context` (B, H); rows not `sampling` draw nothing.
        `logit_bias` (B, 88) is added to the keys' logits (sampling guidance); `voiced`: per
        row, None or what ml.music.voicing needs to draw it in voices."""
        key_bias = self.head(context).float().cpu()
        if logit_bias is not None:
            key_bias = key_bias + logit_bias
        if self.nade is None:
            voiced = voiced or [None] * len(generators)
            free = [sampling[row] and voiced[row] is None for row in range(len(generators))]
            frames = sample_frames(key_bias, temperatures, max_notes, generators, free)
            for row in np.flatnonzero(
                [sampling[r] and voiced[r] is not None for r in range(len(generators))]
            ):
                # independent keys are a NADE whose hidden layer says nothing
                silent = np.zeros((key_bias.shape[1], 1))
                uniforms = torch.rand(key_bias.shape[1], generator=generators[row]).numpy()
                temperature = float(temperatures[row])
                logits = key_bias[row].numpy()
                frames[row] = voiced_frame(
                    np.zeros(1), logits, silent, silent, temperature, uniforms, voiced[row]
                )
            return frames
        return list(
            self.nade.sample(context, key_bias, temperatures, generators, max_notes, sampling, voiced)
        )


def sample_frames(
    logits: torch.Tensor,
    temperatures: torch.Tensor,
    max_notes: list[int | None],
    generators: list[torch.Generator],
    sampling: list[bool],
) -> list[np.ndarray]:
    """One frame per row: keys on where a uniform draw falls under sigmoid(logit / T);
    at T = 0 the likelier outcome of every key. Rows not `sampling` draw nothing."""
    greedy = temperatures == 0
    probs = torch.sigmoid(logits / torch.where(greedy, 1.0, temperatures)[:, None])
    frames = []
    for row, generator in enumerate(generators):
        if not sampling[row]:
            frames.append(np.zeros(logits.shape[1], dtype=bool))
            continue
        on = logits[row] > 0 if greedy[row] else torch.rand(logits.shape[1], generator=generator) < probs[row]
        cap = max_notes[row]
        if cap is not None and int(on.sum()) > cap:
            keep = torch.topk(torch.where(on, probs[row], -1.0), cap).indices
            on = torch.zeros_like(on)
            on[keep] = True
        frames.append(on.numpy())
    return frames
