"""DDP on CPU: gloo, two processes on 127.0.0.1, each bounded in time."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from ml.checkpoint import load_checkpoint
from ml.text.generate import LyricsGenerator
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.request import LyricsRequest
from ml.text.task import LyricsDataConfig, LyricsTask
from ml.training import Trainer
from tests.tiny_training import tiny_train_config

TIMEOUT_S = 180
LOOPBACK = {"MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_step_gradients(csv: Path, out: Path, batch_size: int) -> dict[str, torch.Tensor]:
    """Gradients of one training step on the first chunk of epoch 0 (this rank's share)."""
    torch.manual_seed(0)
    task = LyricsTask.from_config(LyricsDataConfig(data=[csv], validation_fraction=0.2))
    # No dropout: its masks are random draws that a split batch cannot reproduce.
    config = CharLSTMConfig(
        len(task.train.vocab), len(task.train.artists), 8, 4, hidden=24, layers=2, dropout=0
    )
    trainer = Trainer(
        task, CharLSTM(config), tiny_train_config(out, 1, batch_size=batch_size), config.to_dict()
    )
    batch, _ = trainer._chunks(0)[0]
    trainer.train_step(batch, None)
    gradients = {name: p.grad.clone() for name, p in trainer.model.named_parameters()}
    trainer.dist.close()
    return gradients


def _rank_worker(rank: int, world: int, port: int, csv: Path, out: Path) -> None:
    torch.set_num_threads(1)
    os.environ.update({**LOOPBACK, "MASTER_PORT": str(port), "RANK": str(rank), "WORLD_SIZE": str(world)})
    os.environ["LOCAL_RANK"] = str(rank)
    torch.save(_first_step_gradients(csv, out / "run", batch_size=4), out / f"grads-{rank}.pt")


def _spawn(world: int, *args) -> None:
    context = mp.start_processes(
        _rank_worker, args=(world, *args), nprocs=world, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + TIMEOUT_S
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the DDP workers did not finish in time")


def test_one_ddp_step_averages_to_the_single_process_gradient(two_artist_csv, tmp_path):
    _spawn(2, _free_port(), two_artist_csv, tmp_path)
    single = _first_step_gradients(two_artist_csv, tmp_path / "single", batch_size=8)
    for rank in (0, 1):
        ddp = torch.load(tmp_path / f"grads-{rank}.pt")
        assert ddp.keys() == single.keys()
        for name, grad in single.items():
            assert torch.allclose(ddp[name], grad, atol=1e-6, rtol=1e-4), name


def _torchrun(csv: Path, out: Path, epochs: int, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "ml",
        "train",
        "lyrics",
        "--data",
        str(csv),
        "--out",
        str(out),
        "--hidden",
        "24",
        "--layers",
        "1",
        "--embed-dim",
        "8",
        "--artist-dim",
        "4",
        "--epochs",
        str(epochs),
        "--batch-size",
        "4",
        "--seq-len",
        "32",
        "--eval-every",
        "4",
        "--lr",
        "1e-2",
        "--val-fraction",
        "0.2",
        "--device",
        "cpu",
        "--no-progress",
        *extra,
    ]
    env = {**os.environ, **LOOPBACK}
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_a_two_process_run_writes_one_log_and_a_checkpoint_that_samples_then_resumes(
    two_artist_csv, tmp_path
):
    out = tmp_path / "run"
    first = _torchrun(two_artist_csv, out, 2)
    records = _records(out)
    keys = [(r["type"], r["step"]) for r in records]
    assert len(keys) == len(set(keys)) and ("val", records[-1]["step"]) in keys  # rank 0 alone wrote
    assert first.stdout.count("best validation:") == 2  # each rank reports the shared result
    last_step = load_checkpoint(out / "last.pt", "lyrics").training["step"]
    assert last_step == records[-1]["step"] > 0
    sample = LyricsGenerator.from_checkpoint(out / "best.pt").generate([LyricsRequest(length=40, seed=1)])
    assert sample[0].text

    resumed = _torchrun(two_artist_csv, out, 4, "--resume")
    assert f"at step {last_step} " in resumed.stderr
    later = _records(out)
    keys = [(r["type"], r["step"]) for r in later]
    assert len(keys) == len(set(keys)) and later[: len(records)] == records
    assert later[len(records)]["step"] > last_step
    assert load_checkpoint(out / "last.pt", "lyrics").training["epoch"] == 4
