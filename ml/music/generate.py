"""Batched piano sampling from a trained checkpoint.

All requests advance in lockstep, one LSTM step for the whole batch: a request still
reading its prime is fed its next prime frame, the others their last sample. A frame's
keys are drawn from the model's output (independent keys, or key by key with the NADE
head) with logits divided by the temperature, from the request's own seeded generator, so
batching never changes a request's music.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import torch

from ml.checkpoint import Checkpoint, load_checkpoint, restore_model
from ml.errors import BalladeerError, DataError
from ml.music.keyboard import LOWEST_PITCH, key_of_histogram
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.pianoroll import KEYS, roll_to_midi
from ml.music.prime import PrimePiece, read_prime
from ml.paths import DEFAULT_PIANO_CHECKPOINT
from ml.recurrent import LSTMStepper
from ml.sampling import new_seed, seeded_generator


@dataclass(frozen=True)
class PianoRequest:
    seconds: float = 30.0  # length of the new music, at the model's tempo
    temperature: float = 1.0
    seed: int | None = None
    prime: np.ndarray | None = None  # (frames, 88) bool: the piece starts with these
    max_notes: int | None = None  # cap on keys sounding together
    frames: int | None = None  # exact length in frames, overriding seconds


@dataclass(frozen=True)
class PianoSample:
    roll: np.ndarray  # (frames, 88) bool, prime included
    seed: int
    temperature: float
    prime_frames: int
    tempo_bpm: float
    frames_per_beat: int

    @property
    def seconds(self) -> float:
        return len(self.roll) * 60.0 / self.tempo_bpm / self.frames_per_beat

    def to_midi(self) -> pretty_midi.PrettyMIDI:
        return roll_to_midi(self.roll, self.tempo_bpm, self.frames_per_beat)


class PianoGenerator:
    """A piano model loaded once and shared by every request."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.checkpoint = checkpoint
        self.model = restore_model(PianoLSTM(PianoLSTMConfig(**checkpoint.model_config)), checkpoint, device)
        self.stepper = LSTMStepper(self.model.lstm)
        meta = checkpoint.meta
        self.frames_per_beat: int = meta["frames_per_beat"]
        self.tempo_bpm: float = meta["tempo_bpm"]
        self.transpose: bool = meta.get("transpose", False)
        self.openings: list[list[int]] = meta.get("openings") or [[39, 43, 46]]  # C major triad

    @classmethod
    def from_checkpoint(
        cls, path: str | Path | None = None, device: str | torch.device = "cpu"
    ) -> PianoGenerator:
        path = DEFAULT_PIANO_CHECKPOINT if path is None else path
        return cls(load_checkpoint(path, "piano", map_location=device), device)

    def frames_for(self, seconds: float) -> int:
        return max(round(seconds * self.tempo_bpm / 60.0 * self.frames_per_beat), 1)

    def prime_from_midi(self, source: str | Path | bytes, bars: float = 2) -> PrimePiece:
        """The first bars of a MIDI file (in its own meter), read for this model's grid and key."""
        return read_prime(_read_bytes(source), bars, self.frames_per_beat, self.transpose)

    @torch.no_grad()
    def generate(self, requests: list[PianoRequest]) -> list[PianoSample]:
        """Run every request in one batch: one forward pass per frame for all of them."""
        if not requests:
            return []
        run = self.start(requests)
        while not run.advance(run.frames_left):
            pass
        return run.samples()

    def start(self, requests: list[PianoRequest]) -> PianoRun:
        """A batch ready to be generated in slices (`PianoRun.advance`), so a long piece can
        yield to other requests between slices."""
        for r in requests:
            if r.temperature < 0 or (r.max_notes is not None and r.max_notes < 1):
                raise BalladeerError("temperature must be ≥ 0 and max_notes ≥ 1.")
            if r.prime is not None and (r.prime.ndim != 2 or r.prime.shape[1] != KEYS or not len(r.prime)):
                raise BalladeerError(f"a prime must be a non-empty (frames, {KEYS}) piano roll.")
        return PianoRun(self, requests)

    def feed(self, request: PianoRequest, generator: torch.Generator) -> np.ndarray:
        """The frames a request starts from: its prime, or an opening chord from training."""
        if request.prime is not None:
            return request.prime.astype(bool)
        opening = self.openings[int(torch.randint(len(self.openings), (), generator=generator))]
        frame = np.zeros((1, KEYS), dtype=bool)
        frame[0, opening] = True
        return frame


DENSITY_RATE = 0.05  # logit change per frame per unit of relative density error
OUT_OF_KEY_BIAS = -1.5  # logit added to keys outside a prime's scale
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor with the leading note


def scale_bias(prime: np.ndarray | None) -> np.ndarray:
    """(88,) logit bias: OUT_OF_KEY_BIAS on keys outside the scale of the prime's key, as
    its notes say (duration-weighted pitch classes); zeros without a prime."""
    bias = np.zeros(KEYS, dtype=np.float32)
    if prime is None or not prime.any():
        return bias
    histogram = np.zeros(12)
    np.add.at(histogram, (np.arange(KEYS) + LOWEST_PITCH) % 12, prime.sum(axis=0))
    tonic, minor = key_of_histogram(histogram)
    in_scale = {(tonic + step) % 12 for step in (MINOR_SCALE if minor else MAJOR_SCALE)}
    bias[[k for k in range(KEYS) if (k + LOWEST_PITCH) % 12 not in in_scale]] = OUT_OF_KEY_BIAS
    return bias


class PianoRun:
    """One batch in progress: every request advances in lockstep, one LSTM step per frame
    for all of them, and the state carries over between `advance` calls."""

    def __init__(self, generator: PianoGenerator, requests: list[PianoRequest]) -> None:
        self.generator = generator
        self.requests = requests
        self.seeds = [new_seed() if r.seed is None else r.seed for r in requests]
        self.rngs = [seeded_generator(s) for s in self.seeds]
        self.feeds = [generator.feed(r, g) for r, g in zip(requests, self.rngs, strict=True)]
        self.lengths = [
            len(f) + (r.frames or generator.frames_for(r.seconds)) - (r.prime is None)
            for r, f in zip(requests, self.feeds, strict=True)
        ]
        self.rolls = [list(f) for f in self.feeds]
        self.temperatures = torch.tensor([r.temperature for r in requests])
        # A continuation keeps its prime's key and texture: keys outside the prime's scale
        # get a lower logit, and every key a bias steered frame by frame towards the prime's
        # mean number of keys down (no guidance without a prime).
        self.target_keys = torch.tensor(
            [float(r.prime.sum(axis=1).mean()) if r.prime is not None else 0.0 for r in requests]
        )
        self.density_bias = torch.zeros(len(requests))
        self.scale_bias = torch.from_numpy(
            np.stack([scale_bias(r.prime) for r in requests]) if requests else np.zeros((0, KEYS))
        ).float()
        self.step = 1
        self.state = generator.stepper.zero_state(len(requests), generator.device)
        self.frames = self._tensor([f[0] for f in self.feeds])

    @property
    def frames_left(self) -> int:
        return max(max(self.lengths, default=0) - self.step, 0)

    @torch.no_grad()
    def advance(self, frames: int) -> bool:
        """Generate up to `frames` more frames of every request; True once all are done."""
        g = self.generator
        for _ in range(min(frames, self.frames_left)):
            step = self.step
            out, self.state = g.stepper(g.model.project(self.frames), self.state)
            drawn = g.model.sample(
                out,
                self.temperatures,
                self.rngs,
                [r.max_notes for r in self.requests],
                [len(f) <= step < n for n, f in zip(self.lengths, self.feeds, strict=True)],
                self.scale_bias + self.density_bias[:, None],
            )
            self._steer_density(drawn, step)
            next_frames = []
            for i, feed in enumerate(self.feeds):
                frame = feed[step] if step < len(feed) else drawn[i]
                if len(feed) <= step < self.lengths[i]:
                    self.rolls[i].append(frame)
                next_frames.append(frame)
            self.frames = self._tensor(next_frames)
            self.step += 1
        return self.frames_left == 0

    def _steer_density(self, drawn: list[np.ndarray], step: int) -> None:
        """Nudge each steered row's bias by how far its frame fell from the prime's density."""
        for row, frame in enumerate(drawn):
            target = float(self.target_keys[row])
            if target and len(self.feeds[row]) <= step < self.lengths[row]:
                error = (target - frame.sum()) / target
                self.density_bias[row] = min(max(self.density_bias[row] + DENSITY_RATE * error, -3), 3)

    def samples(self) -> list[PianoSample]:
        g = self.generator
        return [
            PianoSample(
                np.array(roll, dtype=bool),
                seed,
                r.temperature,
                len(feed) if r.prime is not None else 0,
                g.tempo_bpm,
                g.frames_per_beat,
            )
            for r, roll, seed, feed in zip(self.requests, self.rolls, self.seeds, self.feeds, strict=True)
        ]

    def _tensor(self, frames: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(frames).astype(np.float32)).to(self.generator.device)


def _read_bytes(source: str | Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    path = Path(source)
    if path.is_dir():
        raise DataError("it is a folder, not a MIDI file")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError("no such file") from None
    except OSError as exc:
        raise DataError(exc.strerror or str(exc)) from None
