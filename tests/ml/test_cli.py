import json
import subprocess
import sys

import pytest

from ml.__main__ import main
from ml.checkpoint import load_checkpoint


def test_every_command_has_help():
    for action in ("train", "sample", "eval"):
        result = subprocess.run(
            [sys.executable, "-m", "ml", action, "lyrics", "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0 and f"usage: python -m ml {action} lyrics" in result.stdout


def test_train_sample_eval_through_the_cli(tmp_path, two_artist_csv, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "lyrics",
            "--data",
            str(two_artist_csv),
            "--out",
            str(out),
            "--hidden",
            "32",
            "--layers",
            "1",
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--seq-len",
            "32",
            "--val-fraction",
            "0.2",
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "metrics.jsonl", "loss.png"}
    capsys.readouterr()

    assert (
        main(
            [
                "sample",
                "lyrics",
                "--checkpoint",
                str(out / "best.pt"),
                "--artist",
                "beta",
                "--prime",
                "xy",
                "--length",
                "30",
                "--seed",
                "4",
                "--num",
                "2",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert text.count("=== sample") == 2 and "Beta" in text and "seed 5" in text

    assert (
        main(
            [
                "eval",
                "lyrics",
                "--checkpoint",
                str(out / "best.pt"),
                "--data",
                str(two_artist_csv),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert set(report["baselines"]) == {"uniform", "unigram", "bigram"}
    assert report["chars"] > 0 and report["bits_per_char"] > 0
    assert set(report["per_artist"]) == {"Alpha", "Beta"}
    assert "bits_per_char_any_artist" in report

    resume = ["train", "lyrics", "--data", str(two_artist_csv), "--out", str(out), "--resume"]
    assert main([*resume, "--hidden", "48", "--layers", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"error: {out / 'last.pt'} holds a different model (--hidden 32); resume with those flags" in err
    assert "Traceback" not in err


def test_piano_training_resumes_with_its_own_model(tmp_path, chord_folder, capsys):
    out = tmp_path / "piano"

    def train(hidden: int, epochs: int, *extra: str) -> int:
        flags = f"--hidden {hidden} --layers 1 --batch-size 4 --epochs {epochs} --device cpu"
        argv = ["train", "piano", "--data", str(chord_folder), "--out", str(out), *flags.split()]
        return main([*argv, "--no-progress", "--no-transpose", *extra])

    assert train(32, 2) == 0
    steps = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"]
    assert train(32, 3, "--resume") == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] > steps and len({(r["type"], r["step"]) for r in records}) == len(records)
    assert train(64, 3, "--resume") == 2
    assert "holds a different model (--hidden 32)" in capsys.readouterr().err
    assert train(32, 3, "--resume", "--frames-per-beat", "4") == 2
    assert "was trained with --frames-per-beat 2; give the same" in capsys.readouterr().err
    assert train(32, 3, "--resume", "--augment-transpose", "2") == 2  # a fine-tune may change it
    assert "was trained with --augment-transpose 0; give the same" in capsys.readouterr().err


def test_a_fine_tuned_piano_model_names_the_data_it_started_from(tmp_path, chord_folder):
    def train(out: str, *extra: str) -> int:
        flags = "--hidden 32 --layers 1 --batch-size 4 --epochs 1 --device cpu --no-progress --no-transpose"
        return main(
            [
                "train",
                "piano",
                "--data",
                str(chord_folder),
                "--out",
                str(tmp_path / out),
                *flags.split(),
                *extra,
            ]
        )

    assert train("base") == 0
    base = load_checkpoint(tmp_path / "base" / "best.pt", "piano")
    assert base.meta["data"]["pretrained"] is None
    assert train("tuned", "--init-from", str(tmp_path / "base" / "best.pt")) == 0
    assert train("tuned", "--init-from", str(tmp_path / "base" / "best.pt"), "--resume", "--epochs", "2") == 0
    pretrained = load_checkpoint(tmp_path / "tuned" / "last.pt", "piano").meta["data"]["pretrained"]
    assert pretrained == {
        "source": str(chord_folder),
        "train_tunes": base.meta["data"]["train_tunes"],
        "pretrained": None,
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "lyrics", "--checkpoint", "nowhere.pt"], "Checkpoint not found: nowhere.pt"),
        (["train", "lyrics", "--data", "missing.csv", "--out", "x"], "Lyrics file not found"),
        (
            ["train", "piano", "--data", "x.mat", "--out", "x", "--augment-transpose", "13"],
            "argument --augment-transpose: must be at least 0 and at most 12, not 13",
        ),
    ],
)
def test_user_mistakes_are_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_artist_in_training_suggests_names(tmp_path, two_artist_csv, capsys):
    argv = [
        "train",
        "lyrics",
        "--data",
        str(two_artist_csv),
        "--out",
        str(tmp_path),
        "--artists",
        "Alfa,Beta",
    ]
    assert main(argv) == 2
    assert "Unknown artist 'Alfa'. Did you mean: Alpha?" in capsys.readouterr().err


def test_bf16_on_a_cpu_without_it_is_a_one_line_error(tmp_path, chord_folder, monkeypatch, capsys):
    """oneDNN has no bf16 LSTM on AVX2-only CPUs: the run must refuse before training."""
    monkeypatch.setattr("ml.training.bf16_autocast_supported", lambda device: False)
    argv = ["train", "piano", "--data", str(chord_folder), "--out", str(tmp_path / "piano")]
    assert main([*argv, "--hidden", "16", "--device", "cpu", "--precision", "bf16", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--precision bf16 needs a CUDA GPU or a CPU with AVX-512" in err and "Traceback" not in err
    assert not (tmp_path / "piano" / "last.pt").exists()


def test_fine_tuning_starts_from_a_checkpoint_and_keeps_its_tables(tmp_path, two_artist_csv, capsys):
    def train(out: str, *extra: str) -> int:
        flags = "--hidden 32 --layers 1 --batch-size 8 --seq-len 32 --val-fraction 0.2 --device cpu"
        argv = ["train", "lyrics", "--data", str(two_artist_csv), "--out", str(tmp_path / out)]
        return main([*argv, *flags.split(), "--no-progress", *extra])

    assert train("base", "--epochs", "3") == 0
    base_path = str(tmp_path / "base" / "best.pt")
    base = load_checkpoint(base_path, "lyrics")
    assert train("tuned", "--epochs", "1", "--lr", "1e-3", "--init-from", base_path) == 0
    records = [json.loads(line) for line in (tmp_path / "tuned" / "metrics.jsonl").read_text().splitlines()]
    start = records[0]
    assert start["type"] == "val" and start["step"] == 0  # the starting weights, scored first
    assert abs(start["val_loss"] - base.metrics["val_loss"]) < 1e-3  # …are the checkpoint's
    tuned = load_checkpoint(tmp_path / "tuned" / "best.pt", "lyrics")
    assert tuned.metrics["val_loss"] <= start["val_loss"]
    assert all(tuned.meta[table] == base.meta[table] for table in ("vocab", "artists"))
    assert tuned.meta["train_config"]["init_from"] == base_path
    capsys.readouterr()

    assert train("other", "--hidden", "48", "--init-from", base_path) == 2
    err = capsys.readouterr().err
    assert "holds a different model (--hidden 32); fine-tune it with those flags" in err
    assert train("other", "--init-from", base_path, "--min-songs", "2", "--val-fraction", "0.3") == 2
    err = capsys.readouterr().err
    assert "was trained with --val-fraction 0.2; give the same" in err  # --min-songs may grow the table
    assert train("other", "--init-from", str(tmp_path / "nowhere.pt")) == 2
    assert "Checkpoint not found" in capsys.readouterr().err


def _subparsers(parser):
    """Every leaf parser under `parser` (train lyrics, sample piano, ...)."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _subparsers(child)
            return
    yield parser


def test_every_help_text_names_the_default_the_parser_really_uses():
    import re

    from ml.__main__ import build_parser

    checked = 0
    for parser in _subparsers(build_parser()):
        for action in parser._actions:
            text = (action.help or "").replace("%(default)s", str(action.default))
            said = re.search(r"\(default ([^):,]+)", text)
            if not said or action.default is None:
                continue
            shown, real = said.group(1).strip(), action.default
            assert shown == str(real) or float(shown.split()[0]) == float(real), (parser.prog, action.dest)
            checked += 1
    assert checked > 20
