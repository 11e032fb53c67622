"""Continuation guidance: the prime's key and texture steer the sampling, nothing else."""

import numpy as np
import torch

from ml.music.guidance import (
    OUT_OF_KEY_BIAS,
    OUTSIDE_REGISTER_BIAS,
    TONIC_BIAS,
    ContinuationGuidance,
    register_bias,
    scale_bias,
)
from ml.music.keyboard import KEYS, LOWEST_PITCH


def g_major_prime(frames: int = 16) -> np.ndarray:
    roll = np.zeros((frames, 88), dtype=bool)
    for chord in ([55, 59, 62], [60, 64, 67], [62, 66, 69]):  # G, C, D
        roll[:, [p - LOWEST_PITCH for p in chord]] = True
    return roll


def test_scale_bias_follows_the_primes_key():
    bias = scale_bias(g_major_prime())
    assert bias[66 - LOWEST_PITCH] == 0  # F♯: in G major
    assert bias[65 - LOWEST_PITCH] == OUT_OF_KEY_BIAS  # F: not
    assert bias[67 - LOWEST_PITCH] == bias[71 - LOWEST_PITCH] == bias[74 - LOWEST_PITCH] == TONIC_BIAS
    assert not scale_bias(None).any()


def test_density_and_articulation_are_steered_towards_the_prime():
    guidance = ContinuationGuidance([g_major_prime(), None], [2.0, None])
    previous = torch.zeros(2, 88)
    silent = [np.zeros(88, dtype=bool), np.zeros(88, dtype=bool)]
    for _ in range(10):
        guidance.update(silent, previous, [True, True])
    assert guidance.density[0] > 0 and guidance.density[1] == 0  # too sparse: more keys; unguided row alone
    held = torch.ones(2, 88)
    for _ in range(10):
        guidance.update([np.ones(88, dtype=bool)] * 2, held, [True, True])  # all held, nothing begins
    assert guidance.sustain[0] < 0 and guidance.sustain[1] == 0  # held notes end sooner
    bias = guidance.bias(held)
    assert not bias[1].any() and bias[0, 65 - LOWEST_PITCH] < OUT_OF_KEY_BIAS


def test_a_continuation_stays_within_a_fifth_of_its_primes_range():
    prime = np.zeros((8, KEYS), bool)
    prime[:, [40, 52]] = True
    bias = register_bias(prime)
    assert (bias[33:60] == 0).all()
    assert (bias[:33] == OUTSIDE_REGISTER_BIAS).all() and (bias[60:] == OUTSIDE_REGISTER_BIAS).all()
    assert not register_bias(None).any()
