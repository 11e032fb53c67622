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
from ml.errors import BalladeerError
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.pianoroll import KEYS, load_midi, midi_to_roll, roll_to_midi
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

    def prime_from_midi(
        self, source: str | Path | bytes, bars: float = 2, beats_per_bar: int = 4
    ) -> np.ndarray:
        """The first bars of a MIDI file on this model's grid (and key, if it transposes)."""
        roll = midi_to_roll(load_midi(source), self.frames_per_beat, self.transpose).roll
        if not len(roll):
            raise BalladeerError("The prime MIDI file has no pitched notes.")
        return roll[: max(int(bars * beats_per_bar * self.frames_per_beat), 1)]

    @torch.no_grad()
    def generate(self, requests: list[PianoRequest]) -> list[PianoSample]:
        """Run every request in one batch: one forward pass per frame for all of them."""
        if not requests:
            return []
        for r in requests:
            if r.temperature < 0 or (r.max_notes is not None and r.max_notes < 1):
                raise BalladeerError("temperature must be ≥ 0 and max_notes ≥ 1.")
            if r.prime is not None and (r.prime.ndim != 2 or r.prime.shape[1] != KEYS or not len(r.prime)):
                raise BalladeerError(f"a prime must be a non-empty (frames, {KEYS}) piano roll.")
        seeds = [new_seed() if r.seed is None else r.seed for r in requests]
        generators = [seeded_generator(s) for s in seeds]
        feeds = [self._feed(r, g) for r, g in zip(requests, generators, strict=True)]
        lengths = [
            len(f) + (r.frames or self.frames_for(r.seconds)) - (r.prime is None)
            for r, f in zip(requests, feeds, strict=True)
        ]
        rolls = [list(f) for f in feeds]
        temperatures = torch.tensor([r.temperature for r in requests])

        state = self.stepper.zero_state(len(requests), self.device)
        frames = torch.from_numpy(np.stack([f[0] for f in feeds]).astype(np.float32)).to(self.device)
        for step in range(1, max(lengths)):
            out, state = self.stepper(self.model.project(frames), state)
            drawn = self.model.sample(
                out,
                temperatures,
                generators,
                [r.max_notes for r in requests],
                [step < n and step >= len(f) for n, f in zip(lengths, feeds, strict=True)],
            )
            next_frames = []
            for i, feed in enumerate(feeds):
                frame = feed[step] if step < len(feed) else drawn[i]
                if len(feed) <= step < lengths[i]:
                    rolls[i].append(frame)
                next_frames.append(frame)
            frames = torch.from_numpy(np.stack(next_frames).astype(np.float32)).to(self.device)

        return [
            PianoSample(
                np.array(roll, dtype=bool),
                seed,
                r.temperature,
                len(feed) if r.prime is not None else 0,
                self.tempo_bpm,
                self.frames_per_beat,
            )
            for r, roll, seed, feed in zip(requests, rolls, seeds, feeds, strict=True)
        ]

    def _feed(self, request: PianoRequest, generator: torch.Generator) -> np.ndarray:
        """The frames a request starts from: its prime, or an opening chord from training."""
        if request.prime is not None:
            return request.prime.astype(bool)
        opening = self.openings[int(torch.randint(len(self.openings), (), generator=generator))]
        frame = np.zeros((1, KEYS), dtype=bool)
        frame[0, opening] = True
        return frame
