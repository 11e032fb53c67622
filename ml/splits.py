"""Deterministic item-level train/validation split, stable across machines and runs."""

import hashlib
from collections.abc import Callable
from typing import TypeVar

from ml.errors import DataError

DEFAULT_VALIDATION_FRACTION = 0.1

T = TypeVar("T")


def is_validation(identity: str, fraction: float = DEFAULT_VALIDATION_FRACTION) -> bool:
    """True when the item with this identity belongs to the validation split.

    A salted SHA-1 of the identity, read as a number in [0, 1), falls under `fraction`.
    The salt keeps this split independent of the data set's own hold-out rule.
    """
    digest = hashlib.sha1(f"balladeer-split:{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_items(
    items: list[T], identity: Callable[[T], str], fraction: float, noun: str
) -> tuple[list[T], list[T]]:
    """(train, validation); an error when either side would be empty."""
    train = [item for item in items if not is_validation(identity(item), fraction)]
    val = [item for item in items if is_validation(identity(item), fraction)]
    if not train or not val:
        raise DataError(
            f"The split left {len(train)} training and {len(val)} validation {noun}; "
            f"use more {noun} or another validation fraction."
        )
    return train, val
