"""A NADE output for piano frames: the 88 keys of a frame predicted one after another.

As in RNN-NADE (Boulanger-Lewandowski et al., 2012): the recurrent network's output for
a step sets the biases of a NADE (Larochelle & Murray, 2011) over the next frame, keys in
a fixed order, low to high. Key d is on with probability

    sigmoid(b_d + V_d · sigmoid(c + Σ_{k<d} W_k x_k)),

so a chord's notes depend on each other instead of being drawn independently. The frame's
log-likelihood is exact; training computes it for all keys at once, sampling draws key by key.

Training uses the frames' sparsity: the NADE's hidden state only changes at keys that are
on, so a frame with m notes has m + 1 distinct hidden states ("segments": the keys up to
and including the first note, then up to the second, …). Computing those and reading each
key's logit from its segment costs O(m·H) per frame instead of O(88·H), a few times faster
than a cumulative sum over all 88 keys and far lighter on memory.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import expit
from torch import nn

from ml.music.voicing import VoicedDraw, voiced_frame


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
        frames = frames.to(key_bias.dtype)
        notes_below = torch.cumsum(frames, -1) - frames  # key d's segment: notes under d
        segments = int(notes_below.max()) + 2 if frames.numel() else 1
        # added[…, s, j] = 1 where key j is on and is one of the first s notes of its frame
        through = torch.arange(segments, device=frames.device, dtype=frames.dtype)
        added = frames.unsqueeze(-2) * (notes_below.unsqueeze(-2) < through.unsqueeze(-1))
        hidden = torch.sigmoid(self.hidden_bias(context).unsqueeze(-2) + added @ self.encoder)
        segment_logits = hidden @ self.decoder.T  # (…, segments, keys)
        index = notes_below.long().unsqueeze(-2)
        return key_bias + torch.gather(segment_logits, -2, index).squeeze(-2)

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
        sampling: list[bool],
        voiced: list[VoicedDraw | None] | None = None,
    ) -> np.ndarray:
        """One frame per row of `context` (B, D), drawn key by key, low to high (a row with
        a `VoicedDraw`: voice by voice, ml.music.voicing).

        Each row draws its uniforms from its own generator (so batching never changes a
        row), logits are divided by the row's temperature (0: the likelier outcome), and
        once a row has `max_notes` keys on, its remaining keys stay off. Rows not
        `sampling` still draw their uniforms, so a row's stream never depends on the others.
        """
        uniforms = np.stack([torch.rand(self.keys, generator=g).numpy() for g in generators])
        hidden_bias = self.hidden_bias(context).float().cpu().numpy()
        key_bias = key_bias.float().cpu().numpy()
        encoder, decoder = (p.detach().float().cpu().numpy() for p in (self.encoder, self.decoder))
        frames = np.zeros((len(generators), self.keys), dtype=bool)
        for row in np.flatnonzero(sampling):
            temperature = float(temperatures[row])
            draw = voiced[row] if voiced is not None else None
            if draw is not None:
                frames[row] = voiced_frame(
                    hidden_bias[row], key_bias[row], encoder, decoder, temperature, uniforms[row], draw
                )
                continue
            cap = self.keys if max_notes[row] is None else max_notes[row]
            frame = frames[row]
            a, key = hidden_bias[row], 0
            while key < self.keys and frame.sum() < cap:
                # The hidden state only changes at a note: the keys up to the next note
                # share it, so their logits come from one product and the next note is the
                # first key whose draw succeeds.
                logits = key_bias[row, key:] + decoder[key:] @ expit(a)
                on = logits > 0 if temperature == 0 else uniforms[row, key:] < expit(logits / temperature)
                hits = np.flatnonzero(on)
                if not len(hits):
                    break
                key += int(hits[0])
                frame[key] = True
                a, key = a + encoder[key], key + 1
        return frames
