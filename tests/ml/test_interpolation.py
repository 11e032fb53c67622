"""Interpolating two checkpoints of one model (scripts/interpolate.py): a fine-tuned one back
towards its start, or a run's best with its last."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.checkpoint import interpolate, load_checkpoint, save_checkpoint
from ml.errors import CheckpointError
from ml.music.evaluate import evaluate_piano
from ml.text.evaluate import evaluate_lyrics

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "interpolate.py"


def shifted(checkpoint, by: float):
    weights = {k: v.float() + by if v.is_floating_point() else v for k, v in checkpoint.state_dict.items()}
    return dataclasses.replace(checkpoint, state_dict=weights, meta={**checkpoint.meta, "tag": "tuned"})


def test_interpolation_weighs_each_tensor_and_refuses_other_models(tiny_lyrics_checkpoint):
    start = load_checkpoint(tiny_lyrics_checkpoint, "lyrics")
    mixed = interpolate(start, shifted(start, 1.0), 0.25)
    for name, value in start.state_dict.items():
        assert torch.allclose(mixed.state_dict[name], value.float() + 0.25, atol=1e-6)
    assert mixed.meta["tag"] == "tuned" and mixed.metrics == {}
    with pytest.raises(CheckpointError, match="between 0 and 1"):
        interpolate(start, start, 1.5)
    other = dataclasses.replace(start, model_config={**start.model_config, "hidden": 8})
    with pytest.raises(CheckpointError, match="same model"):
        interpolate(start, other, 0.5)
    renamed = dataclasses.replace(start, meta={**start.meta, "artists": ["", "Someone", "Else"]})
    with pytest.raises(CheckpointError, match="differ in artists"):
        interpolate(start, renamed, 0.5)


def test_the_script_writes_a_scored_fp16_checkpoint(tiny_lyrics_checkpoint, two_artist_csv, tmp_path):
    tuned = tmp_path / "tuned.pt"
    save_checkpoint(tuned, shifted(load_checkpoint(tiny_lyrics_checkpoint, "lyrics"), 0.01))
    out = tmp_path / "mixed.pt"
    argv = [str(tiny_lyrics_checkpoint), str(tuned), "--weight", "0.5", "--data", str(two_artist_csv)]
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *argv, "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    mixed = load_checkpoint(out, "lyrics")
    assert all(v.dtype == torch.float16 for v in mixed.state_dict.values() if v.is_floating_point())
    assert mixed.metrics["val_bpc"] == pytest.approx(evaluate_lyrics(out, [two_artist_csv])["bits_per_char"])
    assert mixed.meta["interpolated"]["weight"] == 0.5 and f"{mixed.metrics['val_bpc']:.4f}" in result.stdout

    missing_data = [*argv[:-1], str(tmp_path / "none.csv"), "--out", str(tmp_path / "x.pt")]
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), *missing_data],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.pt").exists()  # nothing written unscored


def test_the_script_averages_a_music_run_and_refuses_a_mix_of_kinds(
    tiny_piano_checkpoint, tiny_lyrics_checkpoint, chord_folder, tmp_path
):
    last, out = tiny_piano_checkpoint.parent / "last.pt", tmp_path / "averaged.pt"
    argv = [str(tiny_piano_checkpoint), str(last), "--data", str(chord_folder), "--out", str(out)]
    result = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    averaged = load_checkpoint(out, "piano")
    nats = evaluate_piano(out, chord_folder, "val")["nll_per_frame"]
    assert averaged.metrics["val_nll_per_frame"] == pytest.approx(nats) and "nats/frame" in result.stdout

    argv[1] = str(tiny_lyrics_checkpoint)
    mixed = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=120)
    assert mixed.returncode == 2 and "not a 'piano' model" in mixed.stderr and "Traceback" not in mixed.stderr
