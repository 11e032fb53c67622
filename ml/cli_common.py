"""Command-line flags and the training run shared by the lyrics and piano commands."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from torch import nn

from ml.checkpoint import Checkpoint, load_checkpoint
from ml.cli_args import number
from ml.errors import BalladeerError
from ml.training import BPTT_MODES, RUN_FILES, Task, TrainConfig, Trainer

log = logging.getLogger(__name__)


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
        "--hidden", type=number(int, 1, 16384), default=512, help="LSTM units per layer (default 512)"
    )
    model.add_argument("--layers", type=number(int, 1, 16), default=2, help="LSTM layers (default 2)")
    model.add_argument(
        "--dropout",
        type=number(float, 0, 0.95),
        default=0.2,
        help="dropout between layers and before the output (default 0.2)",
    )
    train = parser.add_argument_group("training")
    train.add_argument(
        "--bptt",
        choices=BPTT_MODES,
        default="tbptt",
        help=(
            "full: exact BPTT over whole sequences; tbptt: chunks of --seq-len, state "
            "carried and detached; checkpoint: exact, activations recomputed per segment "
            "(default tbptt)"
        ),
    )
    train.add_argument(
        "--seq-len",
        type=number(int, 1, 100_000),
        default=128,
        help="tbptt chunk length in steps (default 128)",
    )
    train.add_argument(
        "--checkpoint-segment",
        type=number(int, 1, 100_000),
        default=64,
        help="steps per recomputed segment with --bptt checkpoint (default 64)",
    )
    train.add_argument(
        "--batch-size", type=number(int, 1, 65_536), default=64, help="sequences per batch (default 64)"
    )
    train.add_argument(
        "--epochs",
        type=number(int, 1, 100_000),
        default=20,
        help="passes over the training data (default 20)",
    )
    train.add_argument(
        "--lr",
        type=number(float, 0, 10, above_low=True),
        default=2e-3,
        help="peak AdamW learning rate (default 2e-3)",
    )
    train.add_argument(
        "--weight-decay", type=number(float, 0, 10), default=0.01, help="AdamW weight decay (default 0.01)"
    )
    train.add_argument(
        "--eval-every", type=number(int, 1, 10**9), default=250, help="validate every N steps (default 250)"
    )
    train.add_argument(
        "--patience",
        type=number(int, 1, 10**6),
        default=6,
        help="stop after N validations without improvement (default 6)",
    )
    train.add_argument(
        "--max-minutes",
        type=number(float, 0, 10**6, above_low=True),
        help="stop (saving everything) after this many minutes",
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
        help="seed for initialisation and data order (default 1234)",
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


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        out_dir=args.out,
        bptt=args.bptt,
        seq_len=args.seq_len,
        checkpoint_segment=args.checkpoint_segment,
        batch_size=args.batch_size,
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=args.weight_decay,
        eval_every=args.eval_every,
        patience=args.patience,
        max_minutes=args.max_minutes,
        device=args.device,
        precision=args.precision,
        seed=args.seed,
        resume=args.resume,
        overwrite=args.overwrite,
        init_from=args.init_from,
        progress=not args.no_progress,
    )


def starting_checkpoint(config: TrainConfig, kind: str, model_config: dict[str, Any]) -> Checkpoint | None:
    """The checkpoint a run starts from: OUT/last.pt with --resume, else the one --init-from
    names (fine-tuning). It is the one place such a run reads the model and the task
    metadata from; the model flags of this command must describe the same model. The run
    folder is checked first (before any data loads), so no run is ever lost to a typo."""
    check_run_folder(config)
    path = config.out_dir / "last.pt"
    if config.resume:
        action = "resume"
    elif config.init_from is not None:
        path, action = config.init_from, "fine-tune it"
    else:
        return None
    saved = load_checkpoint(path, kind)
    differing = {
        key: saved.model_config[key]
        for key, value in model_config.items()
        if key in saved.model_config and saved.model_config[key] != value
    }
    if differing:
        flags = ", ".join(f"{_flag(key)} {value}" for key, value in differing.items())
        raise BalladeerError(
            f"{path} holds a different model ({flags}); {action} with those flags, or train into a new --out."
        )
    return saved


def check_run_folder(config: TrainConfig) -> None:
    """OUT is a writable folder; --resume finds a run there; a new run replaces one only
    with --overwrite."""
    out = config.out_dir
    if out.exists() and not out.is_dir():
        raise BalladeerError(f"--out {out} is a file; give a folder for the run's checkpoints and logs.")
    if config.resume:
        if not (out / "last.pt").is_file():
            hint = ""
            best = out / "best.pt"
            if best.is_file():
                hint = f"; to train on from {best}, use --init-from {best} with a new --out"
            raise BalladeerError(
                f"--resume: {out / 'last.pt'} not found, so there is no run to resume{hint}."
            )
        return
    held = [name for name in RUN_FILES if (out / name).exists()]
    if held and not config.overwrite:
        raise BalladeerError(
            f"{out} already holds a training run ({', '.join(held)}); continue it with --resume, "
            "train into a new --out, or replace it with --overwrite."
        )
    nearest = next(p for p in (out, *out.parents) if p.exists())
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise BalladeerError(f"--out {out}: cannot write in {nearest} (permission denied).")


def check_same_data(flags: dict[str, tuple[Any, Any]]) -> None:
    """`flags`: flag → (what the starting checkpoint was trained with, what this run asks
    for). A resume or fine-tune on other data settings would, e.g., score validation on
    songs the checkpoint trained on, or read the music on another grid."""
    differing = {flag: was for flag, (was, now) in flags.items() if was is not None and was != now}
    if differing:
        given = ", ".join(f"{flag} {value}" for flag, value in differing.items())
        raise BalladeerError(
            f"the checkpoint this run starts from was trained with {given}; give the same, "
            "or train from scratch into a new --out."
        )


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def fit_and_report(task: Task, model: nn.Module, model_config: dict, config: TrainConfig) -> None:
    """Train, then print the best validation score in the task's own terms."""
    log.info("model: %s parameters", f"{sum(p.numel() for p in model.parameters()):,}")
    trainer = Trainer(task, model, config, model_config)
    try:
        result = trainer.fit()
    finally:
        trainer.dist.close()
    scores = ", ".join(
        f"{v:.3f} {k.replace('_', ' ')}" for k, v in task.named_metrics(result.best_val_loss).items()
    )
    where = f"checkpoints in {config.out_dir}"
    print(f"best validation: {scores} after {result.steps} steps ({result.stop_reason}); {where}")
