"""Deterministic item-level train/validation split, stable across machines and runs."""

import hashlib

DEFAULT_VALIDATION_FRACTION = 0.1


def is_validation(identity: str, fraction: float = DEFAULT_VALIDATION_FRACTION) -> bool:
    """True when the item with this identity belongs to the validation split.

    A salted SHA-1 of the identity, read as a number in [0, 1), falls under `fraction`.
    The salt keeps this split independent of the data set's own hold-out rule.
    """
    digest = hashlib.sha1(f"balladeer-split:{identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction
