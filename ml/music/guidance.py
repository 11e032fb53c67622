"""Sampling guidance that keeps a continuation in its prime's key and texture.

The piano model alone drifts towards its training music's key habits and density (a
folk-trained model thins a rag out to one line) and wanders across the keyboard (a fiddle
tune in C♯4–G5 went on from A1 to G7). Four logit biases, per request:
- register: keys more than a fifth outside the prime's range are ruled out;
- scale: keys outside the prime's scale (its key from the notes) get OUT_OF_KEY_BIAS, the
  tonic triad TONIC_BIAS, so the music stays in the key and keeps its tonal centre;
- density: every key, steered frame by frame towards the prime's mean keys down;
- articulation: keys already down, steered towards the prime's note onsets per frame (a
  negative bias ends held notes sooner, so more notes begin).
Requests without a prime get none of them.
"""

from __future__ import annotations

import numpy as np
import torch

from ml.music.keyboard import KEYS, LOWEST_PITCH, key_of_histogram, roll_pitch_classes, scale_of

REGISTER_MARGIN = 7  # semitones a continuation may go beyond its prime's lowest and highest keys
OUTSIDE_REGISTER_BIAS = -40.0  # logits: never drawn in practice
OUT_OF_KEY_BIAS = -1.5
TONIC_BIAS = 1.0
STEER_RATE = 0.1  # logit change per frame per unit of relative error
STEER_LIMIT = 3.0


def scale_bias(prime: np.ndarray | None) -> np.ndarray:
    """(88,) logit bias from the key of the prime's notes (duration-weighted pitch classes)."""
    bias = np.zeros(KEYS, dtype=np.float32)
    if prime is None or not prime.any():
        return bias
    pitch_classes = (np.arange(KEYS) + LOWEST_PITCH) % 12
    tonic, minor = key_of_histogram(roll_pitch_classes(prime))
    scale = scale_of(tonic, minor)
    triad = {tonic, (tonic + (3 if minor else 4)) % 12, (tonic + 7) % 12}
    bias[~np.isin(pitch_classes, list(scale))] = OUT_OF_KEY_BIAS
    bias[np.isin(pitch_classes, list(triad))] = TONIC_BIAS
    return bias


def register_bias(prime: np.ndarray | None) -> np.ndarray:
    """(88,) logit bias ruling out keys beyond the prime's range widened by a fifth."""
    bias = np.zeros(KEYS, dtype=np.float32)
    if prime is None or not prime.any():
        return bias
    played = np.flatnonzero(prime.any(axis=0))
    bias[: max(played[0] - REGISTER_MARGIN, 0)] = OUTSIDE_REGISTER_BIAS
    bias[played[-1] + REGISTER_MARGIN + 1 :] = OUTSIDE_REGISTER_BIAS
    return bias


class ContinuationGuidance:
    """The biases of one batch, rows in request order."""

    def __init__(self, primes: list[np.ndarray | None], onsets_per_frame: list[float | None]) -> None:
        fixed = [scale_bias(p) + register_bias(p) for p in primes]
        self.fixed = torch.from_numpy(np.stack(fixed)).float()
        self.target_keys = torch.tensor(
            [float(p.sum(axis=1).mean()) if p is not None else 0.0 for p in primes]
        )
        self.target_onsets = torch.tensor([float(o or 0.0) for o in onsets_per_frame])
        self.density = torch.zeros(len(primes))
        self.sustain = torch.zeros(len(primes))

    def bias(self, previous: torch.Tensor) -> torch.Tensor:
        """(B, 88) logit bias for the next frame, given the frame before it (B, 88)."""
        return self.fixed + self.density[:, None] + self.sustain[:, None] * previous.cpu()

    def update(self, drawn: list[np.ndarray], previous: torch.Tensor, rows: list[bool]) -> None:
        """Steer each guided row by how far its new frame fell from its prime's figures."""
        before = previous.cpu().numpy() > 0.5
        for row, frame in enumerate(drawn):
            if not rows[row]:
                continue
            if keys := float(self.target_keys[row]):
                self.density[row] = _steered(self.density[row], (keys - frame.sum()) / keys)
            if onsets := float(self.target_onsets[row]):
                began = float((frame & ~before[row]).sum())
                self.sustain[row] = _steered(self.sustain[row], -(onsets - began) / onsets)


def _steered(value: torch.Tensor, error: float) -> float:
    return min(max(float(value) + STEER_RATE * error, -STEER_LIMIT), STEER_LIMIT)
