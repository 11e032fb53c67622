"""The GPU benchmark's code path, run on CPU at tiny sizes (its figures need a GPU)."""

import subprocess
import sys
from pathlib import Path

import torch

from ml.training import bf16_autocast_supported

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def test_gpu_benchmark_runs_on_cpu_in_quick_mode():
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_gpu.py"), "--device", "cpu", "--quick", "--no-compile"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "lyrics 1x32 fp32" in out and "piano 1x32 fp32" in out and "frames/s" in out
    assert ("lyrics 1x32 bf16" in out) == bf16_autocast_supported(torch.device("cpu"))
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("32 ", "64 "))]
    assert len(rows) == 2 and all(float(row[-1]) < 1e-5 for row in rows)  # checkpointed grads = full
    assert "guided, style 2" in out


def test_the_default_reply_benchmark_runs_in_smoke_mode(tiny_lyrics_checkpoint):
    """Its code path on a tiny model; the figures come from the full run, a script."""
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "bench_lyrics.py"),
            "--only",
            "reply",
            "--smoke",
            "--checkpoint",
            str(tiny_lyrics_checkpoint),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "one request:" in result.stdout and "16 requests in one batch:" in result.stdout
    assert "one request by candidates written: 1: " in result.stdout
