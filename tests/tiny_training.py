"""Trainer settings for the seconds-long training runs the tests do."""

from pathlib import Path

from ml.training import TrainConfig


def tiny_train_config(out: Path, epochs: int, **overrides) -> TrainConfig:
    settings = {
        "bptt": "tbptt",
        "seq_len": 32,
        "batch_size": 8,
        "epochs": epochs,
        "lr": 1e-2,
        "warmup": 5,
        "eval_every": 1000,
        "patience": 100,
        "device": "cpu",
        "progress": False,
        **overrides,
    }
    return TrainConfig(out_dir=out, **settings)
