"""A NADE output for piano frames: the 88 keys of a frame predicted one after another.

As in RNN-NADE (Boulanger-Lewandowski et al., 2012): the recurrent network's output for
a step sets the biases of a NADE (Larochelle & Murray, 2011) over the next frame, keys in
a fixed order, low to high. Key d is on with probability

    sigmoid(b_d + V_d · sigmoid(c + Σ_{k<d} W_k x_k)),

so a chord's notes depend on each other instead of being drawn independently. The frame's
log-likelihood is exact; training computes it for all keys at once (a cumulative sum over
the keys), sampling draws key by key.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class NADEHead(nn.Module):
    """The NADE's hidden bias c comes from the recurrent output; the key biases b are the
    caller's (the piano model's per-key output layer, which the sigmoid head uses too)."""

    def __init__(self, context_dim: int, keys: int, hidden: int) -> None:
        super().__init__()
        self.keys, self.hidden = keys, hidden
        self.hidden_bias = nn.Linear(context_dim, hidden)  # c, from the recurrent output
        self.encoder = nn.Parameter(torch.randn(keys, hidden) * 0.01)  # W: key d → hidden
        self.decoder = nn.Parameter(torch.randn(keys, hidden) * 0.01)  # V: hidden → key d

    def logits(self, context: torch.Tensor, key_bias: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Each key's logit given the keys below it in `frames` (…, keys): teacher forcing."""
        c = self.hidden_bias(context)  # (…, H)
        contributions = frames.unsqueeze(-1) * self.encoder  # (…, keys, H)
        before = torch.cumsum(contributions, dim=-2) - contributions  # Σ over keys k < d
        hidden = torch.sigmoid(c.unsqueeze(-2) + before)
        return key_bias + (hidden * self.decoder).sum(-1)

    def nll(self, context: torch.Tensor, key_bias: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Exact negative log-likelihood (nats) of each frame (…,), summed over the keys."""
        logits = self.logits(context, key_bias, frames).float()
        return F.binary_cross_entropy_with_logits(logits, frames.float(), reduction="none").sum(-1)

    @torch.no_grad()
    def greedy(self, context: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        """The frame of likelier outcomes, key by key, for every position of `context` (…, D)."""
        a = self.hidden_bias(context).float()
        frame = torch.zeros(*context.shape[:-1], self.keys, dtype=torch.bool, device=context.device)
        for d in range(self.keys):
            on = key_bias[..., d].float() + torch.sigmoid(a) @ self.decoder[d].float() > 0
            frame[..., d] = on
            a = a + on.unsqueeze(-1).float() * self.encoder[d].float()
        return frame

    @torch.no_grad()
    def sample(
        self,
        context: torch.Tensor,
        key_bias: torch.Tensor,
        temperatures: torch.Tensor,
        generators: list[torch.Generator],
        max_notes: list[int | None],
    ) -> np.ndarray:
        """One frame per row of `context` (B, D), drawn key by key, low to high.

        Each row draws its uniforms from its own generator (so batching never changes a
        row), logits are divided by the row's temperature (0: the likelier outcome), and
        once a row has `max_notes` keys on, its remaining keys stay off.
        """
        rows = context.shape[0]
        uniforms = torch.stack([torch.rand(self.keys, generator=g) for g in generators])
        caps = torch.tensor([self.keys if m is None else m for m in max_notes])
        greedy = temperatures == 0
        scale = torch.where(greedy, 1.0, temperatures)
        a = self.hidden_bias(context).float().cpu()
        b = key_bias.float().cpu()
        encoder, decoder = self.encoder.float().cpu(), self.decoder.float().cpu()
        frame = torch.zeros(rows, self.keys, dtype=torch.bool)
        for d in range(self.keys):
            logit = b[:, d] + torch.sigmoid(a) @ decoder[d]
            on = torch.where(greedy, logit > 0, uniforms[:, d] < torch.sigmoid(logit / scale))
            on &= frame.sum(1) < caps
            frame[:, d] = on
            a += on[:, None].float() * encoder[d]
        return frame.numpy()
