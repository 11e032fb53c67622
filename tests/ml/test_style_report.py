import pytest

from ml.errors import BalladeerError
from ml.text.data import Song
from ml.text.style import CopyDetector, chunks, cut_like_a_reply, halves, recommend, style_report
from ml.text.style_config import SamplingSetting, StyleReportConfig


def test_copy_detector_finds_the_longest_verbatim_span():
    training = ["the quick brown fox jumps over the lazy dog and runs far away from here"]
    detector = CopyDetector(training, span=10)
    assert detector.longest("nothing like it at all, nothing whatsoever") == 0
    copied = "MY OWN WORDS:" + training[0][4:40] + "AND MINE"
    assert detector.longest(copied) == 36
    assert chunks("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_a_shared_run_of_vocables_is_not_copied_lyrics():
    training = ["Yeah, yeah, yeah, yeah, yeah, yeah, yeah\nOh yeah, she loves me so"]
    detector = CopyDetector(training, span=20)
    vocables = "Come on, Yeah, yeah, yeah, yeah, yeah, yeah, yeah\nOh yeah I go"
    assert detector.longest(vocables, min_words=0) == len("Yeah, yeah, yeah, yeah, yeah, yeah, yeah\nOh yeah")
    assert detector.longest(vocables) == 0  # only "yeah" and "oh"
    lyric = "Come on, yeah\nOh yeah, she loves me so"
    assert detector.longest(lyric) == len(", yeah\nOh yeah, she loves me so")  # "she", "loves", …
    assert detector.longest("Oh yeah, she lov") == 0  # shorter than the span


def test_the_judge_and_the_classifier_learn_from_different_halves_of_the_songs():
    songs = [Song(artist=f"A{i % 3}", title=f"Song {i}", text=f"la la {i}") for i in range(200)]
    judge, classifier = halves(songs)
    assert sorted(map(id, judge + classifier)) == sorted(map(id, songs))  # every song, once
    assert 70 < len(judge) < 130  # about half each
    assert halves(list(reversed(songs)))[0] == list(reversed(judge))  # by each song, not its place


def test_recommend_picks_the_setting_missing_fewest_targets_among_the_fluent_ones():
    config = StyleReportConfig()
    reference = {
        "accuracy": 0.45,
        "real_words": 0.97,
        "repeated_lines": 0.1,
        "rhymes": 0.2,
        "vocable_lines": 0.02,
        "coherence": 0.3,
    }
    good = {
        "accuracy": 0.5,
        "copy_rate": 0.0,
        "bits_per_char_any_artist": 1.5,
        "real_words": 0.97,
        "first_line_real_words": 0.95,
        "repeated_lines": 0.06,
        "rhymes": 0.17,
        "cut_mid_line": 0.0,
        "vocable_lines": 0.025,
        "balanced": 1.0,
        "coherence": 0.28,
    }
    sweep = {
        "style 1": {**good, "accuracy": 0.3},  # misses attribution
        "style 2": {**good, "copy_rate": 0.02},  # copies too often
        "style 3": good,
        "style 4": {**good, "accuracy": 0.9, "bits_per_char_any_artist": 2.0},  # no longer fluent
        "style 5": {**good, "accuracy": 0.6, "rhymes": 0.1},
        "style 6": {**good, "accuracy": 0.7, "vocable_lines": 0.065, "coherence": 0.2},  # babble, adrift
        "style 10": {**good, "accuracy": 0.8},  # the top of the range leaves no stronger style
    }
    for key, row in sweep.items():
        row["setting"] = {"style": float(key.split()[1])}
    assert recommend(sweep, reference, config) == ("style 3", [])
    assert recommend({"style 1": sweep["style 1"], "style 5": sweep["style 5"]}, reference, config) == (
        "style 5",
        ["rhymes ≥ 0.8× real"],
    )
    assert recommend({"style 6": sweep["style 6"]}, reference, config) == (
        "style 6",
        ["vocable-only lines ≤ 1.5× real", "coherence ≥ 0.9× real"],
    )


def test_real_songs_are_cut_where_a_reply_would_stop():
    song = "first line here\nsecond line\nthird\n"
    assert cut_like_a_reply(song, 5) == "first line here"
    assert cut_like_a_reply(song, 17) == "first line here\nsecond line"
    assert cut_like_a_reply("short", 100) == "short"


def test_style_report_on_two_artists(tiny_lyrics_checkpoint, two_artist_csv):
    settings = [
        SamplingSetting(0.0),
        SamplingSetting(1.0),
        SamplingSetting(2.0, ramp=10, min_p=0.1, recall=1),
    ]
    config = StyleReportConfig(top_artists=2, samples_per_artist=8, settings=settings, sample_length=60)
    report = style_report(tiny_lyrics_checkpoint, [two_artist_csv], config)
    assert report["artists"] == ["Alpha", "Beta"] and report["chance"] == 0.5
    assert report["reference"]["accuracy"] == 1.0  # disjoint alphabets: the classifier cannot miss
    assert set(report["sweep"]) == {"style 0", "style 1", "style 2, ramp 10, min_p 0.1, recall 1"}
    shaped = report["sweep"]["style 2, ramp 10, min_p 0.1, recall 1"]
    assert report["sweep"]["style 1"]["accuracy"] == 1.0 and shaped["accuracy"] == 1.0
    assert report["sweep"]["style 0"]["accuracy"] < 1.0  # style 0 ignores the artist asked for
    assert shaped["repeated_lines"] > 0.5  # the tiny model's songs are one line, over and over
    spread = report["any_artist"]["label_spread"]
    assert set(spread) == {"Alpha", "Beta"} and sum(spread.values()) == pytest.approx(1.0)
    for row in report["sweep"].values():
        assert row["samples"] == 16 and row["bits_per_char_any_artist"] > 0
        assert 0 <= row["copy_rate"] <= 1 and row["longest_copy"] >= 0
        assert set(row["per_artist"]) == {"Alpha", "Beta"} and row["slur_lines_cut"] == 0
    assert report["recommended"] in report["sweep"]


def test_style_report_settings_are_checked():
    with pytest.raises(BalladeerError, match="at least 2 artists"):
        StyleReportConfig(top_artists=1)
    with pytest.raises(BalladeerError, match="style and ramp"):
        StyleReportConfig(settings=[SamplingSetting(-1.0)])
    with pytest.raises(BalladeerError, match="recall and rhyme"):
        StyleReportConfig(settings=[SamplingSetting(1.0, rhyme=2.0)])
    with pytest.raises(BalladeerError, match="candidates"):
        StyleReportConfig(settings=[SamplingSetting(4.0, candidates=0)])
