"""The music report: statistics a listener would recognise, samples set beside real pieces
of their style, and a style classifier that tells the styles apart."""

import json
from pathlib import Path

import numpy as np
import pytest

from ml.__main__ import main
from ml.checkpoint import load_checkpoint
from ml.errors import BalladeerError
from ml.music.generate import PianoGenerator
from ml.music.keyboard import LOWEST_PITCH
from ml.music.report import MusicReportConfig, StyleModel, make_music_report
from ml.music.request import PianoRequest
from ml.music.texture import Texture, style_features, texture


def _roll(frames: int, pitches: list[int]) -> np.ndarray:
    roll = np.zeros((frames, 88), dtype=bool)
    roll[:, [p - LOWEST_PITCH for p in pitches]] = True
    return roll


def test_a_held_triad_reads_as_one_long_chord():
    t = texture(_roll(16, [60, 64, 67]), frames_per_beat=2, tempo_bpm=120)  # 4 s: two bars of 4/4
    assert t.notes_per_second == pytest.approx(3 / 4)
    assert (t.mean_polyphony, t.max_polyphony, t.pitch_range, t.median_pitch) == (3, 3, 7, 64)
    assert t.in_key == 1.0
    assert t.longest_chord_bars == 2.0
    assert t.repeated_bars == 0.5  # the second bar is the first again


def test_struck_notes_count_as_notes_and_out_of_key_time_shows():
    roll = np.zeros((8, 88), dtype=bool)
    roll[::2, 60 - LOWEST_PITCH] = True  # C struck four times
    roll[1::2, 61 - LOWEST_PITCH] = True  # C sharp between: a chromatic trill
    t = texture(roll, frames_per_beat=2, tempo_bpm=120)
    assert t.notes_per_second == 8 / 2
    assert t.longest_chord_bars == pytest.approx(1 / 8)
    in_c = _roll(9, [60, 64, 67])
    in_c[8] = False
    in_c[8, 66 - LOWEST_PITCH] = True  # one F sharp after eight frames of C major
    assert texture(in_c, 2, 120).in_key == pytest.approx(24 / 25)
    features = style_features(roll, t)
    assert features.shape == (len(Texture.names()) + 1 + 12 + 12 + 13,)
    assert np.isfinite(features).all()


def test_silence_has_figures_not_errors():
    t = texture(np.zeros((8, 88), dtype=bool), frames_per_beat=2, tempo_bpm=120)
    assert (t.notes_per_second, t.max_polyphony, t.longest_chord_bars, t.repeated_bars) == (0, 0, 0, 0)
    assert np.isfinite(style_features(np.zeros((8, 88), dtype=bool), t)).all()


@pytest.fixture(scope="module")
def models(tiny_piano_checkpoint, tiny_scale_checkpoint, chord_folder):
    chords = PianoGenerator.from_checkpoint(tiny_piano_checkpoint)
    scales = PianoGenerator.from_checkpoint(tiny_scale_checkpoint)
    return [
        StyleModel("chords", chords, chord_folder),
        StyleModel("scales", scales, Path(scales.meta.data.source)),
    ]


def test_the_report_sets_each_style_beside_its_real_pieces(models):
    report = make_music_report(models, MusicReportConfig(samples=4, seconds=4))
    assert set(report["styles"]) == {"chords", "scales"}
    for style in report["styles"].values():
        assert set(style["statistics"]) == set(Texture.names())
        for row in style["statistics"].values():
            assert row["real_p10"] <= row["real_median"] <= row["real_p90"]
            assert row["within"] == (row["real_p10"] <= row["samples_median"] <= row["real_p90"])
        assert style["attributed"]["real"] == 1.0  # chords and scales: nothing alike
        form = style["form"]
        for name in ("repeated_bars", "motif_reuse"):
            row = form[name]
            assert 0 <= row["real_p10"] <= row["real_median"] <= row["real_p90"] <= 1
            assert row["within"] == (row["real_p10"] <= row["samples_median"] <= row["real_p90"])
        assert 0 <= form["triple_share"]["real"] <= 1 and 0 <= form["top_louder_than_bass"] <= 1
    chords, scales = report["styles"]["chords"]["statistics"], report["styles"]["scales"]["statistics"]
    assert chords["mean_polyphony"]["real_median"] == pytest.approx(3.0, abs=0.3)
    assert scales["mean_polyphony"]["real_median"] == pytest.approx(1.0, abs=0.1)
    assert chords["mean_polyphony"]["samples_median"] > scales["mean_polyphony"]["samples_median"]
    assert len(report["sample_rolls"]["chords"]) == 4


def test_one_style_is_not_a_comparison(models):
    with pytest.raises(BalladeerError, match="at least two style models"):
        make_music_report(models[:1], MusicReportConfig(samples=2, seconds=4))


def test_the_command_line_report(tiny_piano_checkpoint, tiny_scale_checkpoint, tmp_path, capsys):
    argv = ["eval", "piano", "--music-report", "--samples", "2", "--sample-seconds", "4"]
    argv += [
        "--style-model",
        f"chords={tiny_piano_checkpoint}",
        "--style-model",
        f"scales={tiny_scale_checkpoint}",
    ]
    assert main([*argv, "--pictures", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "| mean polyphony |" in table and "| attributed to its style |" in table
    assert "| form: repeated bars |" in table and "| dynamics: velocity spread, melody over bass |" in table
    assert (tmp_path / "music-chords.png").stat().st_size > 1000
    assert main([*argv, "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["styles"]) == {"chords", "scales"}
    assert main([*argv, "--style-data", "folk=/nowhere"]) == 2
    assert "--style-data names folk, which has no --style-model" in capsys.readouterr().err
    assert main(["eval", "piano"]) == 2
    assert "needs --data" in capsys.readouterr().err


def test_a_model_never_writes_more_keys_at_once_than_its_training_pieces_held(tiny_piano_checkpoint):
    checkpoint = load_checkpoint(tiny_piano_checkpoint, "piano")
    assert checkpoint.meta["max_keys"] == 3  # the fixture's chords are triads
    checkpoint.meta["max_keys"] = 2
    generator = PianoGenerator(checkpoint)
    pieces = generator.generate([PianoRequest(seconds=8, seed=s, temperature=1.5) for s in range(4)])
    assert max(int(p.roll[1:].sum(axis=1).max()) for p in pieces) <= 2  # after the opening chord
    capped = generator.generate([PianoRequest(seconds=8, seed=0, temperature=1.5, max_notes=1)])[0]
    assert capped.roll[1:].sum(axis=1).max() <= 1  # a tighter request cap still wins
