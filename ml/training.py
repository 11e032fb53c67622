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

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.checkpoint import checkpoint
from tqdm import tqdm

from ml.batch import Batch
from ml.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ml.distributed import DistributedContext
from ml.errors import BalladeerError
from ml.names import BPTT_MODES, RUN_FILES, SCHEDULES
from ml.run_log import MetricsLog, ReportUnit, plot_losses

log = logging.getLogger(__name__)

State = Any  # a model's recurrent state: a tensor tuple, or None before the first step


class RecurrentModel(Protocol):
    def loss(self, batch: Batch, state: State) -> tuple[torch.Tensor, State]: ...


class Task(Protocol):
    """What the trainer needs from a data set + model family."""

    kind: str  # checkpoint kind: "lyrics" or "piano"
    unit: str  # what the loss is averaged over: "char" or "frame"
    report: ReportUnit  # how its losses are shown: bits/char, nats/frame

    def train_streams(self, batch_size: int, generator: torch.Generator) -> Batch:
        """One epoch for truncated BPTT: every training sequence laid end to end in
        `batch_size` parallel streams, in the generator's order."""

    def train_sequences(self, batch_size: int, generator: torch.Generator) -> list[Batch]:
        """One epoch for full or checkpointed BPTT: whole sequences, padded, in batches."""

    def validation_batches(self, batch_size: int) -> list[Batch]: ...

    def checkpoint_meta(self) -> dict[str, Any]:
        """Everything besides weights that sampling needs (vocabulary, artists, grid...)."""

    def named_metrics(self, loss_per_unit: float) -> dict[str, float]:
        """The validation loss in the task's own terms (e.g. bits per char)."""

    def baselines(self) -> dict[str, float]:
        """Count-based models fitted on the training split, scored on validation (nats per
        unit, like the loss): what a trained model must beat to be worth anything."""


AUTO_BATCH_SIZES = (64, 32, 16, 8, 4)  # tried in turn when --batch-size is not given
MIN_STEPS_PER_EPOCH = 32


@dataclass
class TrainConfig:
    out_dir: Path
    bptt: str = "tbptt"
    seq_len: int = 128  # tbptt chunk length
    checkpoint_segment: int = 64  # steps per recomputed segment in checkpoint mode
    batch_size: int | None = None  # None: the largest of AUTO_BATCH_SIZES the data supports
    epochs: int = 20
    max_minutes: float | None = None
    max_steps: int | None = None  # the whole run's length, across resumes
    lr: float = 2e-3
    min_lr_ratio: float = 0.05
    # "budget": warm up, then decay over the steps that will run (epochs, max_steps or the
    # time left, whichever ends first); "epochs": over every epoch, whatever the time.
    schedule: str = "budget"
    warmup: float = 0.02  # below 1: a fraction of the planned steps; else a number of steps
    weight_decay: float = 0.01
    clip: float = 1.0
    eval_every: int = 250
    patience: int = 6  # evaluations without improvement before stopping
    device: str = "auto"
    precision: str = "auto"  # autocast dtype: auto = bf16 on CUDA, fp32 on CPU
    seed: int = 1234
    resume: bool = False
    overwrite: bool = False  # a new run may replace the one the folder holds
    init_from: Path | None = None  # fine-tuning: start from these weights (fresh optimizer)
    progress: bool = True

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.bptt not in BPTT_MODES:
            raise BalladeerError(f"--bptt must be one of {', '.join(BPTT_MODES)}, not {self.bptt!r}.")
        for name in ("seq_len", "checkpoint_segment", "batch_size", "epochs", "eval_every"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise BalladeerError(f"{name.replace('_', '-')} must be at least 1.")
        if self.schedule not in SCHEDULES:
            raise BalladeerError(f"--schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}.")
        if self.warmup < 0 or (self.warmup >= 1 and self.warmup != int(self.warmup)):
            raise BalladeerError("--warmup must be a fraction below 1 or a whole number of steps.")
        if self.max_steps is not None and self.max_steps < 1:
            raise BalladeerError("--max-steps must be at least 1.")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise BalladeerError(f"--precision must be auto, fp32 or bf16, not {self.precision!r}.")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise BalladeerError("--max-minutes must be positive.")


def _clock(seconds: float) -> str:
    """1:02:03, or 2:03 under an hour."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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


def bf16_autocast_supported(device: torch.device) -> bool:
    """Whether nn.LSTM runs under bf16 autocast on `device`: on a CPU it goes through
    oneDNN, which has no bf16 LSTM without AVX-512 (it fails there, e.g. on AVX2-only CPUs)."""
    return device.type == "cuda" or bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def training_precisions(device: torch.device) -> tuple[str, ...]:
    """The --precision values that can train on `device` (for benchmarks)."""
    return ("fp32", "bf16") if bf16_autocast_supported(device) else ("fp32",)


def check_precision(device: torch.device, precision: str) -> None:
    if precision == "bf16" and not bf16_autocast_supported(device):
        raise BalladeerError(
            "--precision bf16 needs a CUDA GPU or a CPU with AVX-512 (best with AVX512-BF16 or "
            "AMX); this CPU has neither, so nn.LSTM cannot run in bf16 here. "
            "Use --precision fp32 (or auto)."
        )


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


class LossForward(nn.Module):
    """`forward` runs the model's sequence loss, so DistributedDataParallel can wrap it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Batch, state: State, segment: int | None) -> tuple[torch.Tensor, State]:
        return sequence_loss(self.model, batch, state, segment)


@dataclass
class Window:
    """Training loss and throughput since the last log line (summed over every rank)."""

    loss: float = 0.0
    units: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        return self.units / max(time.monotonic() - self.started, 1e-9)


class Trainer:
    """Fits a model on a task and writes best.pt, last.pt, metrics.jsonl and loss.png.

    Under torchrun every rank trains on its own share of each epoch (`batch_size`
    sequences per rank per step), gradients are averaged by DistributedDataParallel,
    validation is summed over the ranks, and rank 0 alone writes the run folder.
    """

    def __init__(self, task: Task, model: nn.Module, config: TrainConfig, model_config: dict) -> None:
        self.task = task
        self.config = config
        self.model_config = model_config
        device = resolve_device(config.device)
        self.dist = DistributedContext.from_env(device)
        self.device = self.dist.device(device)
        check_precision(self.device, config.precision)
        self.model = model.to(self.device)
        loss_forward = LossForward(self.model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward: nn.Module = DistributedDataParallel(loss_forward, device_ids=ids)
        else:
            self.forward = loss_forward
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.out = config.out_dir
        self.log = MetricsLog(self.out / "metrics.jsonl")
        self.step = 0
        self.epoch = 0
        self.step_in_epoch = 0
        self.best_val = math.inf
        self.bad_evals = 0
        self.elapsed_before = 0.0
        if config.batch_size is None:
            config.batch_size = self._fitting_batch_size()
        self.val_batches = task.validation_batches(config.batch_size)[self.dist.rank :: self.dist.world_size]
        self.steps_per_epoch = len(self._chunks(0))
        self.horizon = self._steps_planned()  # where this run will stop, re-estimated as it runs

    def _fitting_batch_size(self) -> int:
        """The largest batch that still gives an epoch MIN_STEPS_PER_EPOCH steps: a few
        dozen songs get many small updates instead of three big ones."""
        for size in AUTO_BATCH_SIZES:
            self.config.batch_size = size
            steps = len(self._chunks(0))
            if steps >= MIN_STEPS_PER_EPOCH:
                break
        if size != AUTO_BATCH_SIZES[0] and self.dist.is_main:
            log.info("batch size %d: the training data gives %d steps an epoch at that size", size, steps)
        return size

    # -- schedule -------------------------------------------------------------------
    def _steps_planned(self) -> int:
        """Every epoch's steps, or --max-steps if that ends first."""
        c = self.config
        return min(c.epochs * self.steps_per_epoch, c.max_steps or math.inf)

    def _plan_within(self, seconds_left: float, seconds_spent: float, steps_done: int) -> None:
        """Bring the horizon in to the steps that fit the time left, at this run's pace."""
        per_step = seconds_spent / max(steps_done, 1)
        self.horizon = max(min(self._steps_planned(), self.step + int(seconds_left / per_step)), self.step)

    def warmup_steps(self, horizon: int) -> int:
        warmup = self.config.warmup
        return int(warmup) if warmup >= 1 else max(1, round(warmup * horizon))

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to min_lr_ratio at the horizon: the steps that
        will run (the budget schedule), or every epoch's (the epochs schedule)."""
        c = self.config
        horizon = self.horizon if c.schedule == "budget" else c.epochs * self.steps_per_epoch
        warmup = self.warmup_steps(horizon)
        if step < warmup:
            return c.lr * (step + 1) / warmup
        progress = min((step - warmup) / max(horizon - warmup, 1), 1.0)
        return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    def _chunks(self, epoch: int) -> list[tuple[Batch, bool]]:
        """This rank's (chunk, carries state) pairs of an epoch; every rank gets as many."""
        c, rank, world = self.config, self.dist.rank, self.dist.world_size
        generator = torch.Generator().manual_seed(c.seed * 1000 + epoch)
        if c.bptt == "tbptt":  # one set of streams for all ranks; each reads its own rows
            streams = self.task.train_streams(c.batch_size * world, generator)
            batches = [streams.rows(rank * c.batch_size, (rank + 1) * c.batch_size)]
        else:  # whole sequences: ranks take turns through the shuffled batches
            batches = self.task.train_sequences(c.batch_size, generator)
            batches = batches[: len(batches) // world * world][rank::world]
        return epoch_chunks(batches, c.bptt, c.seq_len)

    def _schedule(self) -> Iterator[tuple[Batch, bool, bool]]:
        """(chunk, carries state, last of its epoch) from where training stands to the end."""
        max_steps = self.config.max_steps or math.inf
        while self.epoch < self.config.epochs:
            chunks = self._chunks(self.epoch)
            for i in range(self.step_in_epoch, len(chunks)):
                if self.step >= max_steps:
                    return
                batch, carries = chunks[i]
                self.step_in_epoch = i + 1
                yield batch, carries, i == len(chunks) - 1
            self.epoch += 1
            self.step_in_epoch = 0

    # -- one optimisation step ----------------------------------------------------------
    def train_step(self, batch: Batch, state: State) -> tuple[float, float, State]:
        """Forward, backward, clip, update: (mean loss, units scored, state to carry), both
        figures over every rank. The loss is scaled so the averaged gradient is that of the
        mean over the whole global batch, however the scored steps fall across ranks."""
        batch = batch.to(self.device)
        segment = self.config.checkpoint_segment if self.config.bptt == "checkpoint" else None
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        with autocast(self.device, self.config.precision):
            loss_sum, state = self.forward(batch, state, segment)
        total, units = self.dist.sum([float(loss_sum.detach()), float(batch.scored)], self.device)
        self.optimizer.zero_grad(set_to_none=True)
        (loss_sum * (self.dist.world_size / max(units, 1))).backward()  # DDP syncs here
        if units:  # else nothing was scored on any rank (a padding-only tail): no update
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
            self.optimizer.step()
        return total / max(units, 1), units, detach_state(state)

    def measure_throughput(self, steps: int, warmup: int = 2) -> float:
        """Scored units (chars or frames) per second over `steps` training steps of epoch 0."""
        chunks = self._chunks(0)
        if len(chunks) < warmup + steps:
            raise BalladeerError(f"the data holds {len(chunks)} steps; {warmup + steps} are needed")
        state, units = None, 0.0
        for i, (batch, carries) in enumerate(chunks[: warmup + steps]):
            if i == warmup:
                start = time.perf_counter()
            _, scored, state = self.train_step(batch, state if carries else None)
            units += scored if i >= warmup else 0
        return units / (time.perf_counter() - start)

    # -- the loop -----------------------------------------------------------------------
    def fit(self) -> TrainResult:
        c = self.config
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        if c.resume:
            self._resume()
        elif self.dist.is_main:
            for name in RUN_FILES:  # only reached for an empty folder or with --overwrite
                (self.out / name).unlink(missing_ok=True)
        started = time.monotonic()
        deadline = started + c.max_minutes * 60 if c.max_minutes else math.inf
        if self.dist.is_main:
            log.info(
                "training %s: %d steps/epoch, %d epochs, device %s, bptt %s%s",
                self.task.kind,
                self.steps_per_epoch,
                c.epochs,
                self.device,
                c.bptt,
                f", {self.dist.world_size} ranks" if self.dist.enabled else "",
            )
        self.horizon = self._steps_planned()
        bar = tqdm(
            total=self.horizon,
            initial=self.epoch * self.steps_per_epoch + self.step_in_epoch,
            disable=not (c.progress and self.dist.is_main),
            unit="step",
            dynamic_ncols=True,
        )
        if c.init_from is not None and self.step == 0:
            # Score the starting weights first: best.pt is then never worse than the start.
            self._evaluate_and_decide(Window(), started, ending=None)
        self.model.train()
        window, state, stop_reason = Window(), None, "epochs done"
        steps_before = self.step
        for batch, carries, epoch_ends in self._schedule():
            loss, units, state = self.train_step(batch, state if carries else None)
            self.step += 1
            window.loss += loss * units
            window.units += units
            bar.set_description(f"epoch {self.epoch + 1}/{c.epochs}")
            report = self.task.report
            bar.set_postfix_str(f"{report(loss):.3f} {report.name}, best {report(self.best_val):.3f}")
            bar.update()
            # Every rank reaches the same verdict and plans the same horizon (so the same
            # learning rate): the clock is read once and shared.
            now = time.monotonic()
            timing = [deadline - now, now - started] if c.max_minutes else []
            out_of_time, *timing = self.dist.sum([float(now >= deadline), *timing], self.device)
            if timing:
                world = self.dist.world_size
                self._plan_within(timing[0] / world, timing[1] / world, self.step - steps_before)
                bar.total = self.horizon  # the bar's end, and so its ETA, is where time runs out
            at_max_steps = c.max_steps is not None and self.step >= c.max_steps
            if self.step % c.eval_every == 0 or epoch_ends or out_of_time or at_max_steps:
                ending = (
                    "time budget reached" if out_of_time else "max steps reached" if at_max_steps else None
                )
                reason = self._evaluate_and_decide(window, started, ending)
                window = Window()
                if reason:
                    stop_reason = reason
                    break
        bar.close()
        elapsed = self.elapsed_before + time.monotonic() - started
        if self.dist.is_main:
            self._save_last(elapsed)
            plot_losses(self.log.read(), self.out / "loss.png", self.task.report)
            log.info(
                "stopped after %d steps (%s); best validation %.4f %s",
                self.step,
                stop_reason,
                self.task.report(self.best_val),
                self.task.report.name,
            )
        self.dist.barrier()  # nobody leaves (or resumes) before rank 0 has saved
        return TrainResult(
            best_val_loss=self.best_val,
            steps=self.step,
            epochs_done=self._epoch_position(),
            elapsed_s=elapsed,
            stop_reason=stop_reason,
            history=self.log.read() if self.dist.is_main else [],
        )

    def _evaluate_and_decide(self, window: Window, started: float, ending: str | None) -> str | None:
        """The one place that logs, validates, saves and says whether to stop (and why:
        `ending` when the run has reached its end otherwise)."""
        elapsed = self.elapsed_before + time.monotonic() - started
        if window.units and self.dist.is_main:
            self._log_train(window.loss / window.units, window.rate(), elapsed)
        total, count = evaluate_loss(self.model, self.val_batches, self.device, self.config.precision)
        total, count = self.dist.sum([total, float(count)], self.device)
        val = total / max(count, 1)
        improved = val < self.best_val
        if improved:
            self.best_val, self.bad_evals = val, 0
        else:
            self.bad_evals += 1
        if self.dist.is_main:
            record = {
                "type": "val",
                "step": self.step,
                "epoch": self._epoch_position(),
                "val_loss": val,
                **{f"val_{k}": v for k, v in self.task.named_metrics(val).items()},
                "elapsed_s": round(elapsed, 1),
                "improved": improved,
            }
            self.log.append(record)
            if improved:
                save_checkpoint(self.out / "best.pt", self._checkpoint(record), half=True)
            self._save_last(elapsed)
            plot_losses(self.log.read(), self.out / "loss.png", self.task.report)
            self._log_progress(window, val, improved, elapsed)
        if self.bad_evals >= self.config.patience:
            return "early stop: no validation improvement"
        return ending

    # -- checkpoints and logs -----------------------------------------------------------------
    def _epoch_position(self) -> float:
        return round(self.epoch + self.step_in_epoch / max(self.steps_per_epoch, 1), 3)

    def _checkpoint(self, metrics: dict, training: dict | None = None) -> Checkpoint:
        config = {
            k: v
            for k, v in asdict(self.config).items()
            if k not in ("out_dir", "resume", "overwrite", "progress")
        }
        if self.config.init_from is not None:  # plain types only: checkpoints load with weights_only
            config["init_from"] = str(self.config.init_from)
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
            "world_size": self.dist.world_size,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }
        metrics = {"step": self.step, "epoch": self._epoch_position(), "best_val_loss": self.best_val}
        save_checkpoint(self.out / "last.pt", self._checkpoint(metrics, training))

    def _resume(self) -> None:
        """Every rank continues from last.pt (weights, optimizer, position, early-stop state)."""
        path = self.out / "last.pt"
        if not path.is_file():
            raise BalladeerError(f"--resume: {path} not found, so there is no run to resume.")
        saved = load_checkpoint(path, self.task.kind, map_location=self.device)
        if saved.training is None:
            raise BalladeerError(f"{path} holds no training state to resume from.")
        self.model.load_state_dict(saved.state_dict)
        t = saved.training
        if t.get("world_size", 1) != self.dist.world_size:
            raise BalladeerError(
                f"{path} was trained with {t.get('world_size', 1)} ranks; resume it with as many "
                f"(this run has {self.dist.world_size}), or start a new run folder."
            )
        self.optimizer.load_state_dict(t["optimizer"])
        self.step, self.epoch, self.step_in_epoch = t["step"], t["epoch"], t["step_in_epoch"]
        self.best_val, self.bad_evals, self.elapsed_before = t["best_val"], t["bad_evals"], t["elapsed_s"]
        self.best_val = min(self.best_val, self._saved_best())  # never replace a better best.pt
        torch.set_rng_state(t["torch_rng"].cpu())
        if t["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in t["cuda_rng"]])
        if self.dist.is_main:
            self.log.keep_until(self.step)
        log.info("resumed from %s at step %d (epoch %.2f)", path, self.step, self._epoch_position())

    def _saved_best(self) -> float:
        """The validation loss best.pt holds, if it holds one of this task."""
        path = self.out / "best.pt"
        if not path.is_file():
            return math.inf
        try:
            return float(load_checkpoint(path, self.task.kind).metrics.get("val_loss", math.inf))
        except BalladeerError as exc:
            log.warning("ignoring %s: %s", path, exc)
            return math.inf

    def _log_progress(self, window: Window, val: float, improved: bool, elapsed: float) -> None:
        """One log line per evaluation, in the model's unit, with the time left: what
        --no-progress shows instead of the bar."""
        report, c = self.task.report, self.config
        train = f"train {report(window.loss / window.units):.3f}, " if window.units else ""
        left = (self.horizon - self.step) * elapsed / max(self.step, 1)
        if c.max_minutes:
            left = min(left, c.max_minutes * 60 - (elapsed - self.elapsed_before))
        log.info(
            "step %d (epoch %.2f): %sval %.3f %s%s; %s elapsed, about %s left",
            self.step,
            self._epoch_position(),
            train,
            report(val),
            report.name,
            " (best)" if improved else f" (best {report(self.best_val):.3f})",
            _clock(elapsed),
            _clock(max(left, 0)),
        )

    def _log_train(self, loss: float, rate: float, elapsed: float) -> None:
        self.log.append(
            {
                "type": "train",
                "step": self.step,
                "epoch": self._epoch_position(),
                "train_loss": loss,
                "lr": self.lr_at(self.step),
                f"{self.task.unit}s_per_s": round(rate, 1),
                "elapsed_s": round(elapsed, 1),
            }
        )
