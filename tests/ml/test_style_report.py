import pytest

from ml.errors import BalladeerError
from ml.text.style import CopyDetector, chunks, recommend, style_report
from ml.text.style_config import StyleReportConfig


def test_copy_detector_finds_the_longest_verbatim_span():
    training = ["the quick brown fox jumps over the lazy dog and runs far away from here"]
    detector = CopyDetector(training, span=10)
    assert detector.longest("nothing like it at all, nothing whatsoever") == 0
    copied = "MY OWN WORDS:" + training[0][4:40] + "AND MINE"
    assert detector.longest(copied) == 36
    assert chunks("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_recommend_picks_the_weakest_strength_that_meets_every_target():
    config = StyleReportConfig()
    row = {"accuracy": 0.5, "copy_rate": 0.0, "bits_per_char_any_artist": 1.5}
    sweep = {
        "0": {**row, "accuracy": 0.1},
        "1": {**row, "accuracy": 0.3},
        "2": {**row, "accuracy": 0.5, "copy_rate": 0.02},  # copies too often
        "3": {**row, "accuracy": 0.6},
        "4": {**row, "accuracy": 0.9, "bits_per_char_any_artist": 2.0},  # no longer fluent
    }
    assert recommend(sweep, reference=0.45, config=config) == 3.0
    assert recommend(sweep, reference=0.95, config=config) is None


def test_style_report_on_two_artists(tiny_lyrics_checkpoint, two_artist_csv):
    config = StyleReportConfig(
        top_artists=2, samples_per_artist=8, strengths=[0.0, 1.0, 2.0], sample_length=60
    )
    report = style_report(tiny_lyrics_checkpoint, two_artist_csv, config)
    assert report["artists"] == ["Alpha", "Beta"] and report["chance"] == 0.5
    assert report["reference"]["accuracy"] == 1.0  # disjoint alphabets: the classifier cannot miss
    assert set(report["sweep"]) == {"0", "1", "2"}
    assert report["sweep"]["1"]["accuracy"] == 1.0 and report["sweep"]["2"]["accuracy"] == 1.0
    assert report["sweep"]["0"]["accuracy"] < 1.0  # style 0 ignores the artist asked for
    spread = report["any_artist"]["label_spread"]
    assert set(spread) == {"Alpha", "Beta"} and sum(spread.values()) == pytest.approx(1.0)
    for row in report["sweep"].values():
        assert row["samples"] == 16 and row["bits_per_char_any_artist"] > 0
        assert 0 <= row["copy_rate"] <= 1 and row["longest_copy"] >= 0


def test_style_report_settings_are_checked():
    with pytest.raises(BalladeerError, match="at least 2 artists"):
        StyleReportConfig(top_artists=1)
    with pytest.raises(BalladeerError, match="strengths"):
        StyleReportConfig(strengths=[-1.0])
