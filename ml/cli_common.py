"""Command-line flags shared by the lyrics and piano commands (no heavy imports: the parsers
are built for --help too)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ml.cli_args import number
from ml.names import BPTT_MODES, SCHEDULES


def add_checkpoint_flags(parser: argparse.ArgumentParser, default: Path) -> None:
    """--checkpoint and --device, for the commands that load a trained model."""
    parser.add_argument("--checkpoint", type=Path, default=default, help="default: the shipped model")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))


def print_json(report: dict[str, Any]) -> None:
    json.dump(report, sys.stdout, indent=2)
    print()


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """Model-size and trainer flags, identical for both model families."""
    model = parser.add_argument_group("model")
    model.add_argument(
        "--hidden", type=number(int, 1, 16384), default=512, help="LSTM units per layer (default %(default)s)"
    )
    model.add_argument(
        "--layers",
        type=number(int, 1, 16),
        default=2,
        help="LSTM layers (default %(default)s)",
    )
    model.add_argument(
        "--dropout",
        type=number(float, 0, 0.95),
        default=0.2,
        help="dropout between layers and before the output (default %(default)s)",
    )
    train = parser.add_argument_group("training")
    train.add_argument(
        "--bptt",
        choices=BPTT_MODES,
        default="tbptt",
        help=(
            "full: exact BPTT over whole sequences; tbptt: chunks of --seq-len, state "
            "carried and detached; checkpoint: exact, activations recomputed per segment "
            "(default %(default)s)"
        ),
    )
    train.add_argument(
        "--seq-len",
        type=number(int, 1, 100_000),
        default=128,
        help="tbptt chunk length in steps (default %(default)s)",
    )
    train.add_argument(
        "--checkpoint-segment",
        type=number(int, 1, 100_000),
        default=64,
        help="steps per recomputed segment with --bptt checkpoint (default %(default)s)",
    )
    train.add_argument(
        "--batch-size",
        type=number(int, 1, 65_536),
        help="sequences per batch (default 64, down to 4 when the data is too small for 32 steps an epoch)",
    )
    train.add_argument(
        "--epochs",
        type=number(int, 1, 100_000),
        default=20,
        help="passes over the training data (default %(default)s)",
    )
    train.add_argument(
        "--lr",
        type=number(float, 0, 10, above_low=True),
        default=2e-3,
        help="peak AdamW learning rate (default %(default)s)",
    )
    train.add_argument(
        "--weight-decay",
        type=number(float, 0, 10),
        default=0.01,
        help="AdamW weight decay (default %(default)s)",
    )
    train.add_argument(
        "--eval-every",
        type=number(int, 1, 10**9),
        default=250,
        help="validate every N steps (default %(default)s)",
    )
    train.add_argument(
        "--patience",
        type=number(int, 1, 10**6),
        default=6,
        help="stop after N validations without improvement (default %(default)s)",
    )
    train.add_argument(
        "--max-minutes",
        type=number(float, 0, 10**6, above_low=True),
        help="stop (saving everything) after this many minutes; the learning rate decays to that end",
    )
    train.add_argument(
        "--max-steps",
        type=number(int, 1, 10**9),
        help="the run's length in steps, across --resume runs: the learning rate decays over it",
    )
    train.add_argument(
        "--schedule",
        default="budget",
        choices=SCHEDULES,
        help=(
            "what the cosine learning-rate decay spans: budget = the steps that will run "
            "(--epochs, --max-steps or --max-minutes, whichever ends first; default), "
            "epochs = every epoch whatever the time"
        ),
    )
    train.add_argument(
        "--warmup",
        type=number(float, 0, 10**6),
        default=0.02,
        help="linear warm-up: a fraction of the planned steps below 1, else steps (default %(default)s)",
    )
    train.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="default: cuda when available",
    )
    train.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help=(
            "autocast dtype; auto is bf16 on CUDA and fp32 on CPU "
            "(bf16 is faster on CPUs with AVX512-BF16 or AMX)"
        ),
    )
    train.add_argument(
        "--seed",
        type=number(int, 0, 2**31 - 1),
        default=1234,
        help="seed for initialisation and data order (default %(default)s)",
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run OUT already holds (its checkpoints and logs); without it such a run is kept",
    )
    train.add_argument(
        "--init-from",
        type=Path,
        metavar="CHECKPOINT",
        help=(
            "fine-tune: start from this checkpoint's weights, vocabulary and artists with a fresh "
            "optimizer and schedule (the model flags must match it)"
        ),
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
