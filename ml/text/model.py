"""Character-level LSTM language model, optionally conditioned on the artist.

The conditional model concatenates a learned artist embedding to the character
embedding at every step. Artist id 0 is reserved for "any artist": training replaces
the true artist by it now and then (condition dropout), so the same model writes with
or without a style.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ml.batch import Batch

State = tuple[torch.Tensor, torch.Tensor]


@dataclass
class CharLSTMConfig:
    vocab_size: int
    n_artists: int = 0  # 0: unconditional; else the artist table size, "any artist" included
    embed_dim: int = 64
    artist_dim: int = 32
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.2

    def to_dict(self) -> dict:
        return asdict(self)


class CharLSTM(nn.Module):
    def __init__(self, config: CharLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        self.artist_embed = nn.Embedding(config.n_artists, config.artist_dim) if config.n_artists else None
        input_dim = config.embed_dim + (config.artist_dim if config.n_artists else 0)
        self.lstm = nn.LSTM(
            input_dim,
            config.hidden,
            config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.vocab_size)

    @property
    def conditional(self) -> bool:
        return self.artist_embed is not None

    def forward(
        self, tokens: torch.Tensor, artists: torch.Tensor | None, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """Logits (B, T, V) for the next character at every step, and the final state."""
        out, state = self.lstm(self.features(tokens, artists), state)
        return self.head(self.drop(out)), state

    def features(self, tokens: torch.Tensor, artists: torch.Tensor | None) -> torch.Tensor:
        """The LSTM's input: character embedding, then the artist's when conditional."""
        x = self.embed(tokens)
        if self.artist_embed is None:
            return x
        if artists is None:
            artists = torch.zeros_like(tokens)  # any artist
        return torch.cat([x, self.artist_embed(artists)], dim=-1)

    def loss(self, batch: Batch, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Summed cross-entropy (nats) over the batch's scored steps, and the final state."""
        logits, state = self.forward(batch.inputs, batch.context, state)
        nll = F.cross_entropy(logits.float().flatten(0, 1), batch.targets.flatten(), reduction="none")
        return (nll * batch.mask.flatten()).sum(), state
