"""Character-level LSTM language model, optionally conditioned on the artist.

The conditional model concatenates a learned artist embedding to the character
embedding at every step and, with `artist_to_output`, also adds an artist vector to the
LSTM's output just before the softmax, so the style reaches the prediction directly.
Artist id 0 is reserved for "any artist": training replaces the true artist by it now and
then (condition dropout), so the same model writes with or without a style.

Regularisation for small corpora, after AWD-LSTM (Merity et al., 2018): DropConnect on
the hidden-to-hidden matrices (`weight_drop`), one dropout mask per sequence shared by
every step (`locked dropout` on the LSTM's input and output), and dropping whole
characters from the embedding table (`embed_dropout`). All of them act in training only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ml.batch import Batch
from ml.text.vocab import UNK

State = tuple[torch.Tensor, torch.Tensor]


@dataclass
class CharLSTMConfig:
    vocab_size: int
    n_artists: int = 0  # 0: unconditional; else the artist table size, "any artist" included
    embed_dim: int = 64
    artist_dim: int = 32
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.2  # between LSTM layers, and on the output (locked when `locked_dropout`)
    weight_drop: float = 0.0  # DropConnect on the hidden-to-hidden weights
    embed_dropout: float = 0.0  # share of characters whose embedding is zeroed for a batch
    locked_dropout: bool = False  # one mask per sequence instead of one per step
    artist_to_output: bool = False  # the artist also shifts the output layer's input

    def to_dict(self) -> dict:
        return asdict(self)


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout on (B, T, F) with one mask per sequence, the same at every step."""
    if not training or p <= 0:
        return x
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)
    return x * mask


class CharLSTM(nn.Module):
    def __init__(self, config: CharLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        conditional = config.n_artists > 0
        self.artist_embed = nn.Embedding(config.n_artists, config.artist_dim) if conditional else None
        self.artist_out = (
            nn.Embedding(config.n_artists, config.hidden) if conditional and config.artist_to_output else None
        )
        if self.artist_out is not None:
            nn.init.normal_(self.artist_out.weight, std=0.01)
        input_dim = config.embed_dim + (config.artist_dim if conditional else 0)
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
        x = self.features(tokens, artists)
        if self.config.locked_dropout:
            x = locked_dropout(x, self.config.dropout, self.training)
        out, state = self._run_lstm(x, state)
        if self.config.locked_dropout:
            out = locked_dropout(out, self.config.dropout, self.training)
        else:
            out = self.drop(out)
        return self.output(out, artists), state

    def _run_lstm(self, x: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        """The LSTM, with freshly dropped hidden-to-hidden weights when training."""
        p = self.config.weight_drop
        if not self.training or p <= 0:
            return self.lstm(x, state)
        weights = {
            name: F.dropout(w, p, training=True) if name.startswith("weight_hh") else w
            for name, w in self.lstm.named_parameters()
        }
        return functional_call(self.lstm, weights, (x, state))

    def features(self, tokens: torch.Tensor, artists: torch.Tensor | None) -> torch.Tensor:
        """The LSTM's input: character embedding, then the artist's when conditional."""
        x = self._embed(tokens)
        if self.artist_embed is None:
            return x
        if artists is None:
            artists = torch.zeros_like(tokens)  # any artist
        elif artists.dim() < tokens.dim():  # one artist per sequence
            artists = artists.unsqueeze(-1).expand_as(tokens)
        return torch.cat([x, self.artist_embed(artists)], dim=-1)

    def _embed(self, tokens: torch.Tensor) -> torch.Tensor:
        p = self.config.embed_dropout
        if not self.training or p <= 0:
            return self.embed(tokens)
        keep = self.embed.weight.new_empty(self.embed.num_embeddings, 1).bernoulli_(1 - p) / (1 - p)
        return F.embedding(tokens, self.embed.weight * keep)

    def output(self, hidden: torch.Tensor, artists: torch.Tensor | None) -> torch.Tensor:
        """Logits from the top LSTM layer's output (…, H), shifted by the artist if configured."""
        if self.artist_out is not None:
            if artists is None:
                artists = torch.zeros(hidden.shape[:-1], dtype=torch.long, device=hidden.device)
            shift = self.artist_out(artists)
            if shift.dim() < hidden.dim():  # one artist per sequence
                shift = shift.unsqueeze(-2)
            hidden = hidden + shift
        return self.head(hidden)

    def input_tables(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`weight` (out, input) applied to the characters' and the artists' parts of the LSTM
        input: weight @ features(c, a) == chars[c] + artists[a] (artists None when unconditional).
        Sampling looks the first layer's input term up from these instead of multiplying."""
        split = self.config.embed_dim
        chars = self.embed.weight @ weight[:, :split].T
        if self.artist_embed is None:
            return chars, None
        return chars, self.artist_embed.weight @ weight[:, split:].T

    def output_bias(self, artists: torch.Tensor) -> torch.Tensor:
        """The head's bias plus each artist's output shift through the head, one row per artist
        id given: output(h, a) == h @ head.weight.T + output_bias(a)."""
        bias = self.head.bias.expand(len(artists), -1)
        if self.artist_out is None:
            return bias
        return bias + self.artist_out(artists) @ self.head.weight.T

    def load_grown(self, state: dict[str, torch.Tensor]) -> None:
        """Load weights of the same model trained with fewer characters or artists (the
        tables grow by appending; see Vocab.extended). A new character starts as the <unk>
        it was read as before, <unk>'s probability shared out evenly among it and the new
        ones, so every known character keeps its probability; a new artist starts as
        "any artist"."""
        grown = dict(state)
        vocab_rows = {"embed.weight", "head.weight", "head.bias"}
        for name, target in self.state_dict().items():
            old = state[name]
            if old.shape == target.shape:
                continue
            added = target.shape[0] - old.shape[0]
            if added < 0 or old.shape[1:] != target.shape[1:]:
                raise ValueError(f"{name}: cannot grow {tuple(old.shape)} to {tuple(target.shape)}")
            if name == "head.bias":
                old = old.clone()
                old[UNK] -= math.log(added + 1)
            seed = old[UNK] if name in vocab_rows else old[0]
            grown[name] = torch.cat([old, seed.expand(added, *old.shape[1:])])
        self.load_state_dict(grown)

    def sequence_nll(self, batch: Batch, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Cross-entropy (nats) of each sequence (B,) over its scored steps, and the final
        state: the one likelihood that training, evaluation and the reports share."""
        logits, state = self.forward(batch.inputs, batch.context, state)
        nll = F.cross_entropy(logits.float().transpose(1, 2), batch.targets, reduction="none")
        return (nll * batch.mask).sum(dim=1), state

    def loss(self, batch: Batch, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Summed cross-entropy (nats) over the batch's scored steps, and the final state."""
        nll, state = self.sequence_nll(batch, state)
        return nll.sum(), state
