"""Deterministic item-level train/validation split, stable across machines and runs."""

import hashlib
import logging
from collections.abc import Callable
from typing import TypeVar

from ml.errors import DataError

DEFAULT_VALIDATION_FRACTION = 0.1
MIN_VALIDATION_ITEMS = 2  # below this, validation says nothing: small sets hold out more
ADAPTIVE_STEP = 1.5
ADAPTIVE_MAX_FRACTION = 0.4

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_validation(identity: str, fraction: float = DEFAULT_VALIDATION_FRACTION) -> bool:
    """True when the item with this identity belongs to the validation split.

    A salted SHA-1 of the identity, read as a number in [0, 1), falls under `fraction`.
    The salt keeps this split independent of the data set's own hold-out rule.
    """
    return _score(identity) < fraction


def _score(identity: str) -> float:
    """A salted SHA-1 of the identity, read as a number in [0, 1)."""
    digest = hashlib.sha1(f"balladeer-split:{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_items(
    items: list[T], identity: Callable[[T], str], fraction: float, noun: str
) -> tuple[list[T], list[T]]:
    """(train, validation); an error when either side would be empty.

    Small data sets hold out too few items at the usual fraction (20 files at 0.1 can hold
    out none), so the fraction is raised step by step, at most to ADAPTIVE_MAX_FRACTION,
    until MIN_VALIDATION_ITEMS are held out. The rule depends only on the items and the
    requested fraction, so the same data always splits the same way (evaluation included).
    """
    scores = {id(item): _score(identity(item)) for item in items}
    used = fraction
    while sum(scores[id(i)] < used for i in items) < MIN_VALIDATION_ITEMS and used < ADAPTIVE_MAX_FRACTION:
        used = min(used * ADAPTIVE_STEP, ADAPTIVE_MAX_FRACTION)
    if used > fraction:
        held = sum(scores[id(i)] < used for i in items)
        log.warning(
            "a validation fraction of %g holds out too few of these %d %s; using %.2g (%d held out)",
            fraction,
            len(items),
            noun,
            used,
            held,
        )
    train = [item for item in items if scores[id(item)] >= used]
    val = [item for item in items if scores[id(item)] < used]
    if not train or not val:
        raise DataError(
            f"The split left {len(train)} training and {len(val)} validation {noun}; "
            f"use more {noun} or another validation fraction."
        )
    return train, val
