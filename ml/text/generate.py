"""Batched lyrics sampling from a trained checkpoint.

All requests advance in lockstep, one LSTM step for the whole batch: a request still
reading its prime is fed its next prime character, the others their last sample. Each
request draws from its own seeded generator, so its text does not depend on what else
shares the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ml.checkpoint import Checkpoint, load_checkpoint, restore_model
from ml.errors import BalladeerError, UnknownArtistError, close_matches
from ml.paths import DEFAULT_LYRICS_CHECKPOINT
from ml.recurrent import LSTMStepper
from ml.sampling import new_seed, seeded_generator
from ml.text.data import ANY_ARTIST
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.vocab import BOS, EOS, UNK, Vocab


@dataclass(frozen=True)
class LyricsRequest:
    artist: str | None = None
    prime: str = ""
    temperature: float = 0.8
    length: int = 500  # characters to write after the prime
    seed: int | None = None
    top_k: int | None = None


@dataclass(frozen=True)
class LyricsSample:
    text: str  # the prime, then what the model wrote
    artist: str | None  # the artist's name as the model knows it
    seed: int
    temperature: float
    ended: bool  # the model closed the song before reaching the length
    unknown_chars: list[str] = field(default_factory=list)  # prime characters read as <unk>


class LyricsGenerator:
    """A lyrics model loaded once and shared by every request."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.checkpoint = checkpoint
        self.vocab = Vocab(checkpoint.meta["vocab"])
        self.artist_table: list[str] = checkpoint.meta.get("artists", [])
        self.model = restore_model(CharLSTM(CharLSTMConfig(**checkpoint.model_config)), checkpoint, device)
        self.stepper = LSTMStepper(self.model.lstm)
        self._artist_ids = {a.casefold(): i for i, a in enumerate(self.artist_table) if i}

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, device: str | torch.device = "cpu"
    ) -> LyricsGenerator:
        path = DEFAULT_LYRICS_CHECKPOINT if path is None else path
        return cls(load_checkpoint(path, "lyrics", map_location=device), device)

    @property
    def artists(self) -> list[str]:
        """Artists the model can write like (empty for an unconditional model)."""
        return [a for a in self.artist_table if a != ANY_ARTIST]

    def resolve_artist(self, name: str | None) -> tuple[str | None, int]:
        """(canonical name, artist id); None or blank means any artist."""
        if name is None or not name.strip():
            return None, 0
        if not self.model.conditional:
            raise BalladeerError("This lyrics model was trained without artists; leave the artist out.")
        index = self._artist_ids.get(name.strip().casefold())
        if index is None:
            raise UnknownArtistError(name, close_matches(name.strip(), self.artists))
        return self.artist_table[index], index

    @torch.no_grad()
    def generate(self, requests: list[LyricsRequest]) -> list[LyricsSample]:
        """Run every request in one batch: one forward pass per step for all of them."""
        if not requests:
            return []
        for r in requests:
            if r.temperature < 0 or r.length < 1 or (r.top_k is not None and r.top_k < 1):
                raise BalladeerError("temperature must be ≥ 0, length ≥ 1 and top_k ≥ 1.")
        resolved = [self.resolve_artist(r.artist) for r in requests]
        encoded = [self.vocab.encode(r.prime) for r in requests]
        feeds = [[BOS, *e.ids] for e in encoded]
        seeds = [new_seed() if r.seed is None else r.seed for r in requests]
        generators = [seeded_generator(s) for s in seeds]
        written: list[list[int]] = [[] for _ in requests]
        active = [True] * len(requests)

        artists = torch.tensor([index for _, index in resolved], device=self.device)
        temperatures = torch.tensor([r.temperature for r in requests])
        tokens = [feed[0] for feed in feeds]
        state = self.stepper.zero_state(len(requests), self.device)
        step = 0
        while any(active):
            x = self.model.features(torch.tensor(tokens, device=self.device), artists)
            out, state = self.stepper(x, state)
            logits = self.model.head(out).float().cpu()
            step += 1
            sampling = [i for i in range(len(requests)) if active[i] and step >= len(feeds[i])]
            drawn = sample_tokens(
                logits[sampling],
                temperatures[sampling],
                [requests[i].top_k for i in sampling],
                [generators[i] for i in sampling],
            )
            for i, token in zip(sampling, drawn, strict=True):
                tokens[i] = token
                if token == EOS:
                    active[i] = False
                else:
                    written[i].append(token)
                    active[i] = len(written[i]) < requests[i].length
            for i in range(len(requests)):
                if active[i] and step < len(feeds[i]):
                    tokens[i] = feeds[i][step]

        return [
            LyricsSample(
                text=r.prime + self.vocab.decode(w),
                artist=name,
                seed=seed,
                temperature=r.temperature,
                ended=tokens[i] == EOS,
                unknown_chars=e.unknown,
            )
            for i, (r, (name, _), seed, w, e) in enumerate(
                zip(requests, resolved, seeds, written, encoded, strict=True)
            )
        ]


def sample_tokens(
    logits: torch.Tensor,
    temperatures: torch.Tensor,
    top_ks: list[int | None],
    generators: list[torch.Generator],
) -> list[int]:
    """One token per row: argmax where the temperature is 0, else a draw from
    softmax(logits / T) by inverse CDF with the row's own generator."""
    if not len(generators):
        return []
    logits = logits.clone()
    logits[:, [BOS, UNK]] = -torch.inf  # never write a song start or an unknown mark
    for row, k in enumerate(top_ks):
        if k is not None and k < logits.shape[1]:
            kth = torch.topk(logits[row], k).values[-1]
            logits[row, logits[row] < kth] = -torch.inf
    greedy = temperatures == 0
    probs = torch.softmax(logits / torch.where(greedy, 1.0, temperatures)[:, None], dim=-1)
    cdf = probs.cumsum(dim=-1)
    draws = torch.stack([torch.rand((), generator=g) for g in generators])
    sampled = torch.searchsorted(cdf, (draws * cdf[:, -1])[:, None]).squeeze(1)
    sampled = sampled.clamp(max=logits.shape[1] - 1)
    return torch.where(greedy, logits.argmax(dim=-1), sampled).tolist()
