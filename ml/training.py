"""One trainer for both models: three BPTT modes, AdamW, schedule, checkpoints, logs.

A model only has to provide `loss(batch, state) -> (summed nats, final state)`; a task
provides the batches, the checkpoint metadata and how to name its loss. The BPTT modes:

- full: every batch holds whole sequences; exact gradients through all of it.
- tbptt: batches are long streams cut into `seq_len` chunks; the hidden state is carried
  from chunk to chunk and detached, so gradients stop at chunk edges.
- checkpoint: as full, but the sequence runs in segments under torch.utils.checkpoint,
  the state handed from segment to segment: exact gradients, activations recomputed in
  the backward pass instead of stored.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from tqdm import tqdm

from ml.batch import Batch
from ml.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ml.errors import BalladeerError

log = logging.getLogger(__name__)

BPTT_MODES = ("full", "tbptt", "checkpoint")
State = Any  # a model's recurrent state: a tensor tuple, or None before the first step


class RecurrentModel(Protocol):
    def loss(self, batch: Batch, state: State) -> tuple[torch.Tensor, State]: ...


class Task(Protocol):
    """What the trainer needs from a data set + model family."""

    kind: str  # checkpoint kind: "lyrics" or "piano"
    unit: str  # what the loss is averaged over: "char" or "frame"

    def train_batches(self, bptt: str, batch_size: int, generator: torch.Generator) -> list[Batch]:
        """One epoch: long streams for tbptt, whole padded sequences otherwise."""

    def validation_batches(self, batch_size: int) -> list[Batch]: ...

    def checkpoint_meta(self) -> dict[str, Any]:
        """Everything besides weights that sampling needs (vocabulary, artists, grid...)."""

    def named_metrics(self, loss_per_unit: float) -> dict[str, float]:
        """The validation loss in the task's own terms (e.g. bits per char)."""


@dataclass
class TrainConfig:
    out_dir: Path
    bptt: str = "tbptt"
    seq_len: int = 128  # tbptt chunk length
    checkpoint_segment: int = 64  # steps per recomputed segment in checkpoint mode
    batch_size: int = 64
    epochs: int = 20
    max_minutes: float | None = None
    lr: float = 2e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.01
    clip: float = 1.0
    eval_every: int = 250
    patience: int = 6  # evaluations without improvement before stopping
    device: str = "auto"
    precision: str = "auto"  # autocast dtype: auto = bf16 on CUDA, fp32 on CPU
    seed: int = 1234
    resume: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.bptt not in BPTT_MODES:
            raise BalladeerError(f"--bptt must be one of {', '.join(BPTT_MODES)}, not {self.bptt!r}.")
        for name in ("seq_len", "checkpoint_segment", "batch_size", "epochs", "eval_every"):
            if getattr(self, name) < 1:
                raise BalladeerError(f"{name.replace('_', '-')} must be at least 1.")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise BalladeerError(f"--precision must be auto, fp32 or bf16, not {self.precision!r}.")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise BalladeerError("--max-minutes must be positive.")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BalladeerError("--device cuda was asked for, but no CUDA GPU is available.")
    if name not in ("cpu", "cuda"):
        raise BalladeerError(f"--device must be auto, cpu or cuda, not {name!r}.")
    return torch.device(name)


def sequence_loss(
    model: RecurrentModel, batch: Batch, state: State = None, segment: int | None = None
) -> tuple[torch.Tensor, State]:
    """Summed loss over the batch; with `segment`, recompute activations per time segment."""
    if segment is None or batch.steps <= segment:
        return model.loss(batch, state)
    losses = []
    for start in range(0, batch.steps, segment):
        part = batch.slice(start, start + segment)
        part_loss, state = checkpoint(model.loss, part, state, use_reentrant=False)
        losses.append(part_loss)
    return torch.stack(losses).sum(), state


def detach_state(state: State) -> State:
    if state is None:
        return None
    return tuple(s.detach() for s in state)


def epoch_chunks(batches: list[Batch], bptt: str, seq_len: int) -> list[tuple[Batch, bool]]:
    """(chunk, carries state from the previous chunk) pairs for one epoch."""
    if bptt != "tbptt":
        return [(b, False) for b in batches]
    return [(b.slice(s, s + seq_len), s > 0) for b in batches for s in range(0, b.steps, seq_len)]


@torch.no_grad()
def evaluate_loss(
    model: nn.Module, batches: list[Batch], device: torch.device, precision: str = "auto"
) -> tuple[float, int]:
    """(summed nats, scored units) over whole-sequence batches, state reset per batch."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        batch = batch.to(device)
        with autocast(device, precision):
            loss_sum, _ = model.loss(batch, None)
        total += float(loss_sum)
        count += batch.scored
    model.train(was_training)
    return total, count


def autocast(device: torch.device, precision: str = "auto") -> torch.autocast:
    """bf16 autocast when asked for (auto: on CUDA only); otherwise a disabled context."""
    enabled = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


@dataclass
class TrainResult:
    best_val_loss: float
    steps: int
    epochs_done: float
    elapsed_s: float
    stop_reason: str
    history: list[dict] = field(default_factory=list)


class Trainer:
    """Fits a model on a task and writes best.pt, last.pt, metrics.jsonl and loss.png."""

    def __init__(self, task: Task, model: nn.Module, config: TrainConfig, model_config: dict) -> None:
        self.task = task
        self.config = config
        self.model_config = model_config
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.out = config.out_dir
        self.step = 0
        self.epoch = 0
        self.step_in_epoch = 0
        self.best_val = math.inf
        self.bad_evals = 0
        self.elapsed_before = 0.0
        self.val_batches = task.validation_batches(config.batch_size)
        self.steps_per_epoch = len(self._chunks(0))

    # -- schedule -------------------------------------------------------------------
    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to min_lr_ratio over the planned steps."""
        c = self.config
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        total = max(c.epochs * self.steps_per_epoch - c.warmup_steps, 1)
        progress = min((step - c.warmup_steps) / total, 1.0)
        return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    def _chunks(self, epoch: int) -> list[tuple[Batch, bool]]:
        generator = torch.Generator().manual_seed(self.config.seed * 1000 + epoch)
        batches = self.task.train_batches(self.config.bptt, self.config.batch_size, generator)
        return epoch_chunks(batches, self.config.bptt, self.config.seq_len)

    # -- one optimisation step ----------------------------------------------------------
    def train_step(self, batch: Batch, state: State) -> tuple[float, State]:
        """Forward, backward, clip, update; returns (mean loss, state to carry)."""
        batch = batch.to(self.device)
        segment = self.config.checkpoint_segment if self.config.bptt == "checkpoint" else None
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        with autocast(self.device, self.config.precision):
            loss_sum, state = sequence_loss(self.model, batch, state, segment)
        loss = loss_sum / max(batch.scored, 1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        return float(loss.detach()), detach_state(state)

    def measure_throughput(self, steps: int, warmup: int = 2) -> float:
        """Scored units (chars or frames) per second over `steps` training steps of epoch 0."""
        chunks = self._chunks(0)
        if len(chunks) < warmup + steps:
            raise BalladeerError(f"the data holds {len(chunks)} steps; {warmup + steps} are needed")
        state, units = None, 0
        for i, (batch, carries) in enumerate(chunks[: warmup + steps]):
            if i == warmup:
                start = time.perf_counter()
            _, state = self.train_step(batch, state if carries else None)
            units += batch.scored if i >= warmup else 0
        return units / (time.perf_counter() - start)

    # -- the loop -----------------------------------------------------------------------
    def fit(self) -> TrainResult:
        c = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        if c.resume:
            self._resume()
        else:
            (self.out / "metrics.jsonl").unlink(missing_ok=True)
        started = time.monotonic()
        deadline = started + c.max_minutes * 60 if c.max_minutes else math.inf
        stop_reason = "epochs done"
        window_loss, window_units, window_start = 0.0, 0, time.monotonic()
        self.model.train()
        log.info(
            "training %s: %d steps/epoch, %d epochs, device %s, bptt %s",
            self.task.kind,
            self.steps_per_epoch,
            c.epochs,
            self.device,
            c.bptt,
        )
        while self.epoch < c.epochs and stop_reason == "epochs done":
            chunks = self._chunks(self.epoch)
            bar = tqdm(
                total=len(chunks),
                initial=self.step_in_epoch,
                disable=not c.progress,
                desc=f"epoch {self.epoch + 1}/{c.epochs}",
                unit="step",
                dynamic_ncols=True,
            )
            state = None
            for batch, carries in chunks[self.step_in_epoch :]:
                if batch.scored == 0:
                    self.step_in_epoch += 1
                    continue
                loss, state = self.train_step(batch, state if carries else None)
                self.step += 1
                self.step_in_epoch += 1
                window_loss += loss * batch.scored
                window_units += batch.scored
                rate = window_units / max(time.monotonic() - window_start, 1e-9)
                bar.set_postfix(
                    loss=f"{loss:.3f}",
                    best=f"{self.best_val:.3f}",
                    **{f"{self.task.unit}s/s": f"{rate:,.0f}"},
                )
                bar.update()
                if self.step % c.eval_every == 0 or time.monotonic() >= deadline:
                    self._log_train(window_loss / window_units, rate, started)
                    window_loss, window_units, window_start = 0.0, 0, time.monotonic()
                    if self._validate(started):
                        stop_reason = "early stop: no validation improvement"
                        break
                    if time.monotonic() >= deadline:
                        stop_reason = "time budget reached"
                        break
            bar.close()
            if stop_reason == "epochs done":
                self.epoch += 1
                self.step_in_epoch = 0
                if window_units:  # steps since the last validation
                    rate = window_units / max(time.monotonic() - window_start, 1e-9)
                    self._log_train(window_loss / window_units, rate, started)
                    window_loss, window_units, window_start = 0.0, 0, time.monotonic()
                    if self._validate(started):
                        stop_reason = "early stop: no validation improvement"
                else:  # the epoch's last step was just validated: only record the new epoch
                    self._save_last(self.elapsed_before + time.monotonic() - started)
        elapsed = self.elapsed_before + time.monotonic() - started
        self._save_last(elapsed)
        self._plot()
        log.info(
            "stopped after %d steps (%s); best validation loss %.4f",
            self.step,
            stop_reason,
            self.best_val,
        )
        return TrainResult(
            best_val_loss=self.best_val,
            steps=self.step,
            epochs_done=self.epoch + self.step_in_epoch / max(self.steps_per_epoch, 1),
            elapsed_s=elapsed,
            stop_reason=stop_reason,
            history=read_metrics(self.out / "metrics.jsonl"),
        )

    # -- validation, checkpoints, logs --------------------------------------------------------
    def _validate(self, started: float) -> bool:
        """Score the validation set, save best/last; True when it is time to stop early."""
        total, count = evaluate_loss(self.model, self.val_batches, self.device, self.config.precision)
        val = total / max(count, 1)
        elapsed = self.elapsed_before + time.monotonic() - started
        improved = val < self.best_val
        record = {
            "type": "val",
            "step": self.step,
            "epoch": self._epoch_position(),
            "val_loss": val,
            **{f"val_{k}": v for k, v in self.task.named_metrics(val).items()},
            "elapsed_s": round(elapsed, 1),
            "improved": improved,
        }
        self._append(record)
        if improved:
            self.best_val, self.bad_evals = val, 0
            save_checkpoint(self.out / "best.pt", self._checkpoint(record), half=True)
        else:
            self.bad_evals += 1
        self._save_last(elapsed)
        self._plot()
        return self.bad_evals >= self.config.patience

    def _epoch_position(self) -> float:
        return round(self.epoch + self.step_in_epoch / max(self.steps_per_epoch, 1), 3)

    def _checkpoint(self, metrics: dict, training: dict | None = None) -> Checkpoint:
        config = {k: v for k, v in asdict(self.config).items() if k not in ("out_dir", "resume", "progress")}
        return Checkpoint(
            kind=self.task.kind,
            model_config=self.model_config,
            state_dict=self.model.state_dict(),
            meta={**self.task.checkpoint_meta(), "train_config": config},
            metrics={k: v for k, v in metrics.items() if k not in ("type", "improved")},
            training=training,
        )

    def _save_last(self, elapsed: float) -> None:
        training = {
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "best_val": self.best_val,
            "bad_evals": self.bad_evals,
            "elapsed_s": elapsed,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        metrics = {
            "step": self.step,
            "epoch": self._epoch_position(),
            "best_val_loss": self.best_val,
        }
        save_checkpoint(self.out / "last.pt", self._checkpoint(metrics, training))

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.is_file():
            log.warning("--resume: %s not found, starting from scratch", path)
            (self.out / "metrics.jsonl").unlink(missing_ok=True)
            return
        saved = load_checkpoint(path, self.task.kind, map_location=self.device)
        if saved.training is None:
            raise BalladeerError(f"{path} holds no training state to resume from.")
        self.model.load_state_dict(saved.state_dict)
        t = saved.training
        self.optimizer.load_state_dict(t["optimizer"])
        self.step, self.epoch, self.step_in_epoch = t["step"], t["epoch"], t["step_in_epoch"]
        self.best_val, self.bad_evals, self.elapsed_before = (
            t["best_val"],
            t["bad_evals"],
            t["elapsed_s"],
        )
        torch.set_rng_state(t["torch_rng"].cpu())
        if t["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in t["cuda_rng"]])
        # Drop log lines written after the saved step (a crash between saves).
        history = [r for r in read_metrics(self.out / "metrics.jsonl") if r["step"] <= self.step]
        (self.out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
        log.info("resumed from %s at step %d (epoch %.2f)", path, self.step, self._epoch_position())

    def _log_train(self, loss: float, rate: float, started: float) -> None:
        self._append(
            {
                "type": "train",
                "step": self.step,
                "epoch": self._epoch_position(),
                "train_loss": loss,
                "lr": self.lr_at(self.step),
                f"{self.task.unit}s_per_s": round(rate, 1),
                "elapsed_s": round(self.elapsed_before + time.monotonic() - started, 1),
            }
        )

    def _append(self, record: dict) -> None:
        with (self.out / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")

    def _plot(self) -> None:
        plot_losses(read_metrics(self.out / "metrics.jsonl"), self.out / "loss.png", self.task.unit)


def read_metrics(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _records(history: list[dict], kind: str, key: str) -> Iterator[tuple[int, float]]:
    return ((r["step"], r[key]) for r in history if r["type"] == kind)


def plot_losses(history: list[dict], path: Path, unit: str) -> None:
    """Train and validation loss against optimisation steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for kind, key, style in (("train", "train_loss", "-"), ("val", "val_loss", "o-")):
        points = list(_records(history, kind, key))
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, style, label=kind, markersize=3)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (nats per {unit})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
