"""One self-describing checkpoint format for both models.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads
with `torch.load(weights_only=True)`: opening a file never runs code from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from ml.errors import CheckpointError

FORMAT_NAME = "balladeer"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """What a model needs to be rebuilt, plus what it was trained on and how well it did.

    `meta` holds the kind-specific extras (vocabulary and artists, or the piano grid);
    `training` holds optimizer and progress state, and only `last.pt` carries it.
    """

    kind: str
    model_config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] | None = None

    def parameter_count(self) -> int:
        return sum(t.numel() for t in self.state_dict.values())


def save_checkpoint(path: str | Path, checkpoint: Checkpoint, half: bool = False) -> None:
    """Write atomically (temp file + rename) so a crash never leaves a torn file.

    `half` stores floating-point weights as fp16, halving the file; they load back
    into fp32 parameters.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = {
        name: (t.half() if half and t.is_floating_point() else t).detach().cpu().contiguous()
        for name, t in checkpoint.state_dict.items()
    }
    blob = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": checkpoint.kind,
        "model_config": checkpoint.model_config,
        "meta": checkpoint.meta,
        "metrics": checkpoint.metrics,
        "state_dict": weights,
        "training": checkpoint.training,
    }
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def load_checkpoint(
    path: str | Path, kind: str | None = None, map_location: str | torch.device = "cpu"
) -> Checkpoint:
    """Load a checkpoint of the expected kind (None: either), or raise CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"Cannot read checkpoint {path}: the file is corrupt or not a PyTorch file ({exc})."
        ) from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a Balladeer checkpoint.")
    if blob.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer Balladeer (format {blob['format_version']}); upgrade to load it."
        )
    if kind is not None and blob["kind"] != kind:
        raise CheckpointError(f"{path} holds a {blob['kind']!r} model, not a {kind!r} model.")
    return Checkpoint(
        kind=blob["kind"],
        model_config=blob["model_config"],
        state_dict=blob["state_dict"],
        meta=blob.get("meta", {}),
        metrics=blob.get("metrics", {}),
        training=blob.get("training"),
    )


ModelT = TypeVar("ModelT", bound=nn.Module)


def restore_model(model: ModelT, checkpoint: Checkpoint, device: str | torch.device) -> ModelT:
    """`model` holding the checkpoint's weights, on `device`, in eval mode: ready to sample or score."""
    model.load_state_dict(checkpoint.state_dict)
    return model.to(device).eval()


def interpolate(start: Checkpoint, tuned: Checkpoint, weight: float) -> Checkpoint:
    """(1 − weight)·start + weight·tuned, weight by weight (as WiSE-FT): a fine-tuned model
    pulled back towards where it started, which keeps much of the fine-tuning's gain and
    less of its drift. Both must be the same model with the same tables; the result keeps
    `tuned`'s metadata, and no metrics, as none were measured on it yet."""
    if not 0 <= weight <= 1:
        raise CheckpointError(f"the interpolation weight must be between 0 and 1, not {weight}.")
    if start.kind != tuned.kind or start.model_config != tuned.model_config:
        raise CheckpointError("only checkpoints of the same model (kind and flags) can be interpolated.")
    tables = {k for k in ("vocab", "artists") if start.meta.get(k) != tuned.meta.get(k)}
    if tables or start.state_dict.keys() != tuned.state_dict.keys():
        raise CheckpointError(f"the checkpoints differ in {', '.join(sorted(tables)) or 'weights'}.")
    weights = {
        name: torch.lerp(start.state_dict[name].float(), value.float(), weight)
        if value.is_floating_point()
        else value
        for name, value in tuned.state_dict.items()
    }
    return Checkpoint(tuned.kind, tuned.model_config, weights, meta=dict(tuned.meta))
