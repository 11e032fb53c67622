"""Per-request sampling shared by the text and music generators."""

from __future__ import annotations

import secrets

import torch


def new_seed() -> int:
    """A fresh seed to report back, so any sample can be reproduced."""
    return secrets.randbelow(2**31)


def seeded_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
