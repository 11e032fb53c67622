"""Checked command-line values: every user mistake is one `error:` line and exit status 2,
never a traceback and never a run that cannot end (an infinite or absurd length)."""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from ml.errors import BalladeerError

USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one line that points to --help (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"error: {message} (see {self.prog} --help)\n")


def lazy(module: str, function: str) -> Callable[[argparse.Namespace], None]:
    """A command that imports `module` (and torch with it) only when it runs, so every
    parser, --help included, is built without it."""

    def run(args: argparse.Namespace) -> None:
        getattr(importlib.import_module(module), function)(args)

    return run


def number(kind: type[int] | type[float], low: float, high: float, *, above_low: bool = False) -> Callable:
    """An argparse type: a finite `kind` within [low, high] (or (low, high] with `above_low`)."""
    noun = "a whole number" if kind is int else "a number"
    bounds = f"{'above' if above_low else 'at least'} {low:g} and at most {high:g}"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not math.isfinite(value) or value > high or value < low or (above_low and value == low):
            raise argparse.ArgumentTypeError(f"must be {bounds}, not {text}")
        return value

    parse.__name__ = noun  # argparse names the type in some messages
    return parse


def output_file(text: str) -> Path:
    """A file to write: not an existing folder, in a folder that exists or can be made."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{path} is a folder; give a file name to write, e.g. {path / 'out'}"
        )
    parent = next(p for p in (path.parent, *path.parent.parents) if p.exists())
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {path}: {parent} is a file, not a folder")
    return path


def write_output(path: Path, data: bytes) -> None:
    """Write a command's output file, a failure being the user's one-line error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise BalladeerError(f"cannot write {path}: {exc.strerror or exc}") from None
