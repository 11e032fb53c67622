"""Every user mistake on the command line is one `error:` line and exit status 2, and no
training command ever loses a run."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.__main__ import main
from ml.checkpoint import load_checkpoint
from ml.text.data import read_songs
from tests import hostile_midi
from tests.lyrics_fixtures import write_lyrics_csv
from tests.music_fixtures import chord_midi

TINY_LYRICS = ["--hidden", "16", "--layers", "1", "--epochs", "1", "--batch-size", "4", "--seq-len", "16"]
TINY_PIANO = [*TINY_LYRICS, "--input-dim", "8", "--nade-hidden", "8", "--head", "sigmoid"]
QUIET = ["--device", "cpu", "--no-progress", "--val-fraction", "0.25"]


def one_error_line(args: list[str], capsys) -> str:
    """Run the CLI; it must exit with status 2 and say one `error:` line, no traceback."""
    capsys.readouterr()
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert err and err[-1].startswith("error: ") and "Traceback" not in "\n".join(err)
    return err[-1]


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ml", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nan", "must be above 0 and at most 600, not nan"),
        ("inf", "not inf"),
        ("1e9", "not 1e9"),
        ("x", "'x' is not"),
    ],
)
def test_sample_piano_refuses_seconds_that_cannot_end(value, reason, tmp_path):
    result = run_cli(["sample", "piano", "--out", str(tmp_path / "a.mid"), "--seconds", value])
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: argument --seconds: ") and reason in result.stderr


def test_output_paths_are_checked(tmp_path, capsys):
    assert "is a folder" in one_error_line(["sample", "piano", "--out", str(tmp_path)], capsys)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    message = one_error_line(["sample", "piano", "--out", str(a_file / "x.mid")], capsys)
    assert "is a file, not a folder" in message
    message = one_error_line(["train", "piano", "--data", str(tmp_path), "--out", str(a_file)], capsys)
    assert message == f"error: --out {a_file} is a file; give a folder for the run's checkpoints and logs."


def test_a_damaged_prime_is_one_error_line(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\xe7\x28")
    message = one_error_line(
        ["sample", "piano", "--out", str(tmp_path / "o.mid"), "--prime", str(bad)], capsys
    )
    assert message.startswith(f"error: cannot read the prime {bad}: it counts time in SMPTE frames")


def test_a_prime_past_pretty_midis_tick_limit_is_continued(tmp_path, tiny_piano_checkpoint):
    prime = tmp_path / "far.mid"
    prime.write_bytes(hostile_midi.past_tick_limit())
    args = ["--checkpoint", str(tiny_piano_checkpoint), "--out", str(tmp_path / "o.mid"), "--seconds", "2"]
    assert main(["sample", "piano", *args, "--prime", str(prime)]) == 0


def test_training_skips_unreadable_midi_files_and_counts_them(tmp_path, capsys, caplog):
    folder = tmp_path / "midi"
    folder.mkdir()
    for i in range(8):
        chord_midi(beats=16, offset=i).write(str(folder / f"tune{i}.mid"))
    (folder / "ticks.mid").write_bytes(hostile_midi.past_tick_limit())
    (folder / "cut.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01")
    (folder / "long.mid").write_bytes(hostile_midi.long_held_note())
    out = tmp_path / "run"
    assert main(["train", "piano", "--data", str(folder), "--out", str(out), *TINY_PIANO, *QUIET]) == 0
    assert "skipped 3 of 11 MIDI files" in caplog.text
    assert (out / "best.pt").is_file()


def train_lyrics(data: Path, out: Path) -> list[str]:
    """The arguments of a tiny lyrics training run of `data` into `out`."""
    return ["train", "lyrics", "--data", str(data), "--out", str(out), *TINY_LYRICS, *QUIET]


@pytest.fixture
def finished_run(tmp_path, two_artist_csv):
    out = tmp_path / "run"
    assert main(train_lyrics(two_artist_csv, out)) == 0
    return out


def test_a_new_run_never_replaces_a_run_without_overwrite(finished_run, two_artist_csv, capsys):
    before = {p.name: p.read_bytes() for p in finished_run.iterdir()}
    args = train_lyrics(two_artist_csv, finished_run)
    message = one_error_line(args, capsys)
    assert "already holds a training run (best.pt, last.pt, metrics.jsonl, loss.png)" in message
    assert "--resume" in message and "--overwrite" in message
    assert {p.name: p.read_bytes() for p in finished_run.iterdir()} == before
    assert main([*args, "--overwrite"]) == 0


def test_resume_without_last_pt_refuses_and_keeps_best_pt(finished_run, two_artist_csv, capsys):
    (finished_run / "last.pt").unlink()
    best = (finished_run / "best.pt").read_bytes()
    args = train_lyrics(two_artist_csv, finished_run)
    message = one_error_line([*args, "--resume"], capsys)
    assert "last.pt not found, so there is no run to resume" in message and "--init-from" in message
    assert (finished_run / "best.pt").read_bytes() == best


def test_resume_never_replaces_a_better_best_pt(finished_run, two_artist_csv):
    best = load_checkpoint(finished_run / "best.pt", "lyrics")
    last = load_checkpoint(finished_run / "last.pt", "lyrics")
    assert last.training["best_val"] == pytest.approx(best.metrics["val_loss"])
    args = train_lyrics(two_artist_csv, finished_run)
    # a best.pt better than anything this run reached (as if copied in from a longer run)
    raw = torch.load(finished_run / "best.pt", weights_only=True)
    raw["metrics"]["val_loss"] = 0.001
    torch.save(raw, finished_run / "best.pt")
    kept = (finished_run / "best.pt").read_bytes()
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    assert (finished_run / "best.pt").read_bytes() == kept


def test_lyrics_csvs_with_a_bom_read_and_other_encodings_are_named_by_line(tmp_path, capsys):
    rows = [("Alpha", f"S{i}", "ab ab\nba ba\n" * 5) for i in range(8)]
    plain = write_lyrics_csv(tmp_path / "plain.csv", rows)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert read_songs(bom) == read_songs(plain)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(plain.read_bytes() + 'Cher,Café,,"déjà vu"\n'.encode("latin-1"))
    lines = latin.read_bytes().count(b"\n")
    message = one_error_line(["eval", "lyrics", "--data", str(latin), "--split", "all"], capsys)
    assert message == f"error: {latin} is not UTF-8 text (line {lines} holds the byte 0xe9); " + (
        "save it as UTF-8 and try again."
    )


def test_overlong_songs_are_skipped_and_absurd_fields_refused(tmp_path, capsys, caplog):
    rows = [("Alpha", f"S{i}", "ab ab\nba ba\n" * 5) for i in range(8)] + [("Alpha", "Long", "la " * 20_000)]
    path = write_lyrics_csv(tmp_path / "long.csv", rows)
    assert [s.title for s in read_songs(path)] == [f"S{i}" for i in range(8)]
    assert "skipped 1 songs longer than 50,000 characters" in caplog.text
    huge = tmp_path / "huge.csv"
    huge.write_text(path.read_text() + 'Beta,Huge,,"' + "x" * 10_000_001 + '"\n')
    message = one_error_line(["eval", "lyrics", "--data", str(huge), "--split", "all"], capsys)
    assert "huge.csv line 91: not a valid lyrics CSV row (field larger than field limit" in message


def test_data_that_is_a_folder_is_one_error_line(tmp_path, capsys):
    message = one_error_line(["eval", "lyrics", "--data", str(tmp_path), "--split", "all"], capsys)
    assert message == f"error: {tmp_path} is a folder; --data takes a lyrics CSV file."


def test_no_flag_takes_an_absurd_number(tmp_path: Path, capsys):
    for flag, value in (("--lr", "0"), ("--dropout", "1.5"), ("--max-minutes", "-1"), ("--batch-size", "0")):
        args = ["train", "lyrics", "--data", "x.csv", "--out", str(tmp_path / "r"), flag, value]
        assert one_error_line(args, capsys).startswith(f"error: argument {flag}: ")


def test_a_run_that_does_not_beat_the_baselines_says_so(two_artist_csv, tmp_path, capsys, caplog):
    assert main(train_lyrics(two_artist_csv, tmp_path / "short")) == 0  # one epoch of a tiny model
    assert "is no better than the bigram baseline" in caplog.text and "--hidden 256" in caplog.text
    caplog.clear()
    assert main([*train_lyrics(two_artist_csv, tmp_path / "long"), "--epochs", "8"]) == 0
    out = capsys.readouterr().out
    assert "baselines on the same validation data: unigram" in out and "the model beats them all" in out
    assert "no better than" not in caplog.text


def test_small_data_sets_hold_out_enough_to_validate(caplog):
    from ml.splits import MIN_VALIDATION_ITEMS, split_items

    items = [f"tune{i:02d}.mid" for i in range(20)]
    train, val = split_items(items, str, 0.01, "tunes")
    assert len(val) >= MIN_VALIDATION_ITEMS and len(train) >= len(items) / 2
    assert "a validation fraction of 0.01 holds out too few of these 20 tunes" in caplog.text
    assert split_items(items, str, 0.01, "tunes") == (train, val)  # the same data splits the same way
    many = [f"song {i}" for i in range(2000)]
    caplog.clear()
    train, val = split_items(many, str, 0.05, "songs")
    assert 60 < len(val) < 140 and not caplog.text  # enough already: the fraction is kept
