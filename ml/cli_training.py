"""The one `train` command both model families run: the run folder's checks, the checkpoint a
run starts from, the data settings a resume must repeat, the Trainer, and the end-of-run
summary. What differs between lyrics and music is a `ModelFamily`."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any, Protocol

import torch
from torch import nn

from ml.checkpoint import Checkpoint, load_checkpoint
from ml.errors import BalladeerError
from ml.names import RUN_FILES
from ml.training import Task, TrainConfig, Trainer

log = logging.getLogger(__name__)


class ModelFamily(Protocol):
    """A model family's part of `train`, built from its command's flags; `train_family`
    runs the steps in between the same way for every family."""

    kind: str  # the checkpoint kind: "lyrics" or "piano"
    model_settings: dict[str, Any]  # the model flags; a starting checkpoint must match them

    def same_data(self, saved: Checkpoint, resume: bool) -> dict[str, tuple[Any, Any]]:
        """Flag → (the saved run's value, this run's) for every data setting that must match."""
        ...

    def build_task(self, saved: Checkpoint | None, resume: bool) -> Task:
        """Load the data (logging what was read); a fine-tune may grow the saved tables."""
        ...

    def build_model(self, task: Task, saved: Checkpoint | None) -> tuple[nn.Module, dict[str, Any]]:
        """The model (the saved weights, if any) and the config its checkpoints record."""
        ...


def train_family(family: ModelFamily, args: argparse.Namespace) -> None:
    """`train lyrics` and `train piano`: one order of steps, so a check added here (a flag a
    resume must repeat, the run folder's state) holds for both."""
    config = train_config_from_args(args)
    saved = starting_checkpoint(config, family.kind, family.model_settings)  # before the data loads
    if saved is not None:
        check_same_data(family.same_data(saved, config.resume))
    task = family.build_task(saved, config.resume)
    torch.manual_seed(config.seed)
    model, model_config = family.build_model(task, saved)  # a resume then restores the optimizer too
    fit_and_report(task, model, model_config, config)


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
        max_steps=args.max_steps,
        schedule=args.schedule,
        warmup=args.warmup,
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
        given = ", ".join(_as_given(flag, value) for flag, value in differing.items())
        raise BalladeerError(
            f"the checkpoint this run starts from was trained with {given}; give the same, "
            "or train from scratch into a new --out."
        )


def _as_given(flag: str, value: Any) -> str:
    """How a flag's value reads on a command line: "--unconditional", "no --artists"."""
    if isinstance(value, bool):
        return flag if value else f"no {flag}"
    if isinstance(value, list):
        return f'{flag} "{",".join(value)}"' if value else f"no {flag}"
    return f"{flag} {value}"


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def fit_and_report(task: Task, model: nn.Module, model_config: dict, config: TrainConfig) -> None:
    """Train, then print the best validation score in the task's own terms beside the
    count-based baselines, with a warning when the model does not beat them."""
    log.info("model: %s parameters", f"{sum(p.numel() for p in model.parameters()):,}")
    trainer = Trainer(task, model, config, model_config)
    try:
        result = trainer.fit()
    finally:
        trainer.dist.close()
    report = task.report
    baselines = task.baselines()
    scores = f"{report(result.best_val_loss):.3f} {report.name}"
    where = f"checkpoints in {config.out_dir}"
    print(f"best validation: {scores} after {result.steps} steps ({result.stop_reason}); {where}")
    shown = ", ".join(f"{name} {report(value):.3f}" for name, value in baselines.items())
    best_name, best = min(baselines.items(), key=lambda item: item[1])
    if result.best_val_loss < best:
        print(f"baselines on the same validation data: {shown} ({report.name}); the model beats them all")
    else:
        log.warning(
            "the model (%.3f %s) is no better than the %s baseline (%.3f): it needs more steps "
            "(more --epochs), or a model the data can train (e.g. --hidden 256 --layers 1 "
            "--batch-size 16 --seq-len 64 on a few dozen songs or tunes)",
            report(result.best_val_loss),
            report.name,
            best_name,
            report(best),
        )
