"""Batched lyrics sampling from a trained checkpoint.

All requests advance in lockstep, one LSTM step for the whole batch: a request still
reading its prime is fed its next prime character, the others their last sample. A
request's random draws all come from its own seed, so its text does not depend on what
else shares the batch.

Style strength is classifier-free guidance: a request with an artist and a style s ≠ 1
gets a second row in the same batch, reading the same characters as "any artist"; its
next-character logits are u + s·(c − u), c given the artist and u given any artist. s = 1
is plain conditional sampling, s = 0 ignores the artist, s > 1 exaggerates the style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ml.checkpoint import Checkpoint, load_checkpoint, restore_model
from ml.errors import BalladeerError
from ml.paths import DEFAULT_LYRICS_CHECKPOINT
from ml.recurrent import LSTMStepper
from ml.sampling import new_seed, seeded_generator
from ml.text.artists import ArtistTable
from ml.text.meta import LyricsMeta
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.vocab import BOS, EOS, UNK, Vocab

# Chosen by the style report on the shipped model (docs/REPORT.md): the weakest strength whose
# samples are attributed to their artist as often as real unseen songs (0.585 vs 0.50 over ten
# artists), within 0.3 bits/char of plain sampling's fluency, and copying ≤ 1% of the time.
DEFAULT_STYLE = 4.0


@dataclass(frozen=True)
class LyricsRequest:
    artist: str | None = None
    prime: str = ""
    temperature: float = 0.8
    length: int = 500  # characters to write after the prime
    seed: int | None = None
    top_k: int | None = None
    style: float = DEFAULT_STYLE  # guidance: 0 any artist, 1 conditional, > 1 stronger style


@dataclass(frozen=True)
class LyricsSample:
    text: str  # the prime, then what the model wrote
    artist: str | None  # the artist's name as the model knows it
    seed: int
    temperature: float
    ended: bool  # the model closed the song before reaching the length
    style: float = 1.0  # the guidance strength it was written with (1 without an artist)
    unknown_chars: list[str] = field(default_factory=list)  # prime characters read as <unk>


class LyricsGenerator:
    """A lyrics model loaded once and shared by every request."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.checkpoint = checkpoint
        self.meta = LyricsMeta.from_dict(checkpoint.meta)
        self.vocab = Vocab(self.meta.vocab)
        self.artist_table = ArtistTable(self.meta.artists, self.meta.data.song_counts)
        self.model = restore_model(CharLSTM(CharLSTMConfig(**checkpoint.model_config)), checkpoint, device)
        self.stepper = LSTMStepper(self.model.lstm)

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, device: str | torch.device = "cpu"
    ) -> LyricsGenerator:
        path = DEFAULT_LYRICS_CHECKPOINT if path is None else path
        return cls(load_checkpoint(path, "lyrics", map_location=device), device)

    @property
    def artists(self) -> list[str]:
        """Artists the model can write like (empty for an unconditional model)."""
        return self.artist_table.artists

    @property
    def song_counts(self) -> dict[str, int]:
        """Training songs per artist the model can write like."""
        return self.artist_table.song_counts

    def resolve_artist(self, name: str | None) -> tuple[str | None, int]:
        """(canonical name, artist id); None or blank means any artist."""
        if name and name.strip() and not self.model.conditional:
            raise BalladeerError("This lyrics model was trained without artists; leave the artist out.")
        return self.artist_table.resolve(name)

    @staticmethod
    def _uniforms(requests: list[LyricsRequest], seeds: list[int]) -> torch.Tensor:
        """(requests, longest length): row i holds request i's draws, one per character it
        may write, all taken up front from its own seed (one call per request, not per step)."""
        uniforms = torch.zeros(len(requests), max(r.length for r in requests))
        for row, r, seed in zip(uniforms, requests, seeds, strict=True):
            row[: r.length] = torch.rand(r.length, generator=seeded_generator(seed))
        return uniforms

    @torch.no_grad()
    def generate(self, requests: list[LyricsRequest]) -> list[LyricsSample]:
        """Run every request in one batch: one forward pass per step for all of them."""
        if not requests:
            return []
        for r in requests:
            if r.temperature < 0 or r.length < 1 or (r.top_k is not None and r.top_k < 1) or r.style < 0:
                raise BalladeerError("temperature must be ≥ 0, length ≥ 1, top_k ≥ 1 and style ≥ 0.")
        resolved = [self.resolve_artist(r.artist) for r in requests]
        # Guided requests get a twin row reading the same text as "any artist".
        guided = [
            i
            for i, (r, (_, index)) in enumerate(zip(requests, resolved, strict=True))
            if index and r.style != 1
        ]
        styles = torch.tensor([requests[i].style for i in guided])[:, None]
        encoded = [self.vocab.encode(r.prime) for r in requests]
        feeds = [[BOS, *e.ids] for e in encoded]
        seeds = [new_seed() if r.seed is None else r.seed for r in requests]
        uniforms = self._uniforms(requests, seeds)
        written: list[list[int]] = [[] for _ in requests]
        active = [True] * len(requests)

        artists = torch.tensor([index for _, index in resolved] + [0] * len(guided), device=self.device)
        temperatures = torch.tensor([r.temperature for r in requests])
        tokens = [feed[0] for feed in feeds]
        state = self.stepper.zero_state(len(artists), self.device)
        step = 0
        while any(active):
            rows = torch.tensor(tokens + [tokens[i] for i in guided], device=self.device)
            out, state = self.stepper(self.model.features(rows, artists), state)
            logits = self.model.output(out, artists).float().cpu()
            if guided:
                conditional, unconditional = logits[guided], logits[len(requests) :]
                logits[guided] = unconditional + styles * (conditional - unconditional)
            logits = logits[: len(requests)]
            step += 1
            sampling = [i for i in range(len(requests)) if active[i] and step >= len(feeds[i])]
            drawn = sample_tokens(
                logits[sampling],
                temperatures[sampling],
                [requests[i].top_k for i in sampling],
                uniforms[sampling, [len(written[i]) for i in sampling]],
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
                style=r.style if name else 1.0,
                unknown_chars=e.unknown,
            )
            for i, (r, (name, _), seed, w, e) in enumerate(
                zip(requests, resolved, seeds, written, encoded, strict=True)
            )
        ]


def sample_tokens(
    logits: torch.Tensor, temperatures: torch.Tensor, top_ks: list[int | None], uniforms: torch.Tensor
) -> list[int]:
    """One token per row: argmax where the temperature is 0, else a draw from
    softmax(logits / T) by inverse CDF at the row's uniform in [0, 1)."""
    if not len(uniforms):
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
    sampled = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None]).squeeze(1)
    sampled = sampled.clamp(max=logits.shape[1] - 1)
    return torch.where(greedy, logits.argmax(dim=-1), sampled).tolist()
