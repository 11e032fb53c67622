"""A training run's log: `metrics.jsonl` (one JSON record per line) and `loss.png`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportUnit:
    """The unit a model's losses are shown in everywhere (bar, log, plot, summary): the
    trainer's nats per char or frame, times `scale`."""

    name: str  # "bits/char", "nats/frame"
    scale: float = 1.0

    def __call__(self, loss_nats: float) -> float:
        return loss_nats * self.scale


class MetricsLog:
    """Train and validation records of one run folder, appended as they happen."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def read(self) -> list[dict]:
        return read_metrics(self.path)

    def keep_until(self, step: int) -> None:
        """Drop records written after `step` (a crash between two saves), for a resume."""
        kept = [r for r in self.read() if r["step"] <= step]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))


def read_metrics(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _records(history: list[dict], kind: str, key: str) -> Iterator[tuple[int, float]]:
    return ((r["step"], r[key]) for r in history if r["type"] == kind)


def plot_losses(history: list[dict], path: Path, unit: ReportUnit) -> None:
    """Train and validation loss against optimisation steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for kind, key, style in (("train", "train_loss", "-"), ("val", "val_loss", "o-")):
        points = list(_records(history, kind, key))
        if points:
            steps, values = zip(*points, strict=True)
            ax.plot(steps, [unit(v) for v in values], style, label=kind, markersize=3)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss ({unit.name})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
