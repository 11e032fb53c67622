"""What a reader notices, measured (ml.text.quality), and the sampling nudges that shape a
reply like a song (ml.text.shape)."""

import pytest
import torch

from ml.text.quality import (
    WordList,
    figures,
    first_line,
    repeat_rate,
    rhyme_key,
    rhyme_rate,
    title_case_share,
    words,
)
from ml.text.shape import SongShape
from ml.text.style_config import SamplingSetting

SONG = "I walk the night\nYou hold the light\n\nI walk the night\nOh baby don't go\n"


def test_words_repeats_rhymes_and_title_case_read_like_a_reader_would():
    assert words("Don't STOP, baby-love 2 times") == ["don't", "stop", "baby", "love", "times"]
    assert first_line("\n\nFirst one\nsecond") == "First one"
    assert repeat_rate(SONG) == pytest.approx(1 / 4)  # "I walk the night" comes back once
    assert repeat_rate("only one line") is None
    assert rhyme_key("night") == "ight" and rhyme_key("day") == "ay"
    # light/night rhyme; the repeated "night" is the same word (a repeat, not a rhyme) but
    # rhymes with "light" two lines up; "go" rhymes with nothing.
    assert rhyme_rate(SONG) == pytest.approx(2 / 3)
    assert title_case_share("Girl I Think You Try To Snow") == pytest.approx(5 / 5)
    assert title_case_share("girl i think you try to snow") == 0.0


def test_real_word_share_counts_words_seen_three_times_in_training():
    word_list = WordList(["love me love me love me", "tender tender"])
    assert word_list.share("Love ME") == 1.0
    assert word_list.share("love tender xqzt") == pytest.approx(1 / 3)
    assert word_list.share("!!!") is None
    shown = figures(["love me\nlove me", "xq me"], word_list)
    assert shown.texts == 2 and shown.real_words == pytest.approx((1 + 0.5) / 2)
    assert shown.first_line_real_words == pytest.approx(0.75) and shown.repeated_lines == pytest.approx(0.5)


CHARS = ["", "", "", *"abcdefghijklmnopqrstuvwxyz", " ", "\n", "'", ","]


def _ids(text: str) -> list[int]:
    return [CHARS.index(ch) for ch in text]


def test_recall_pulls_a_line_that_starts_like_an_earlier_one_towards_it():
    shape = SongShape(["hold me close tonight\nhold"], recall=[1.0], rhyme=[0.0], chars=CHARS)
    assert shape.recall([0]) == {}  # "hold" is 4 characters: too short to recall
    shape.add(0, " ")
    ((token, weight),) = shape.recall([0]).values()
    assert [token] == _ids("m") and 0.6 < weight < 0.75
    probs = torch.full((1, len(CHARS)), 1 / len(CHARS))
    mixed = shape.reshape(probs.clone(), [0])
    assert mixed.sum().item() == pytest.approx(1.0)
    assert mixed[0, _ids("m")[0]] > 0.6 and mixed[0, _ids("x")[0]] < probs[0, 0]
    off = SongShape(["hold me close tonight\nhold "], recall=[0.0], rhyme=[0.0], chars=CHARS)
    assert off.recall([0]) == {}


def test_recall_leaves_a_line_written_three_times_to_the_model():
    chorus = "hold me close tonight\n"
    twice = SongShape([chorus * 2 + "hold me"], recall=[1.0], rhyme=[0.0], chars=CHARS)
    assert twice.recall([0])[0][0] == _ids(" ")[0]  # a chorus comes back…
    thrice = SongShape([chorus * 3 + "hold me"], recall=[1.0], rhyme=[0.0], chars=CHARS)
    assert thrice.recall([0]) == {}  # …but does not loop
    other = SongShape(["hold me now\n" + chorus * 3 + "hold me"], recall=[1.0], rhyme=[0.0], chars=CHARS)
    assert other.recall([0])[0][0] == _ids(" ")[0]  # an older line with the same start still may


def test_recall_leaves_a_line_with_a_garbled_word_to_the_model():
    known = {"why", "do", "you", "don't", "go"}.__contains__
    garbled = SongShape(["why do yoh don't\nwhy do"], recall=[1.0], rhyme=[0.0], chars=CHARS, is_word=known)
    assert garbled.recall([0]) == {}  # "yoh" is not a word: the line is not a chorus to repeat
    clean = SongShape(["why do you go\nwhy do"], recall=[1.0], rhyme=[0.0], chars=CHARS, is_word=known)
    assert clean.recall([0])[0][0] == _ids(" ")[0]
    unchecked = SongShape(["why do yoh don't\nwhy do"], recall=[1.0], rhyme=[0.0], chars=CHARS)
    assert unchecked.recall([0])[0][0] == _ids(" ")[0]  # without a word list every line counts


def test_a_rhyming_word_may_end_the_line_but_no_word_is_cut_short():
    shape = SongShape(["i walk alone at night\nyou hold the light"], recall=[0.0], rhyme=[1.0], chars=CHARS)
    probs = torch.full((1, len(CHARS)), 1 / len(CHARS))
    mixed = shape.reshape(probs.clone(), [0])
    letters = [CHARS.index(ch) for ch in "abcxyz'"]
    assert torch.equal(mixed[0, letters], probs[0, letters])  # the word may still go on
    assert mixed[0, CHARS.index(" ")] == 0 and mixed[0, CHARS.index("\n")] == pytest.approx(3 / len(CHARS))
    assert mixed.sum().item() == pytest.approx(1.0)
    for line in ("you hold the lamp", "you hold the", "light"):  # no rhyme; too short to end
        other = SongShape([f"i walk alone at night\n{line}"], recall=[0.0], rhyme=[1.0], chars=CHARS)
        assert torch.equal(other.reshape(probs.clone(), [0]), probs)
    same_word = SongShape(["i walk alone at night\nall through the night"], [0.0], [1.0], CHARS)
    assert torch.equal(same_word.reshape(probs.clone(), [0]), probs)  # a repeat, not a rhyme


def test_sampling_settings_parse_and_name_what_differs():
    setting = SamplingSetting.parse("style=4, ramp=60, min_p=0.1")
    assert setting == SamplingSetting(4.0, ramp=60, min_p=0.1)
    assert setting.key == "style 4, ramp 60, min_p 0.1" and SamplingSetting(2).key == "style 2"
    best_of = SamplingSetting.parse("style=5,candidates=4")
    assert best_of.candidates == 4 and isinstance(best_of.candidates, int)
    assert best_of.key == "style 5, candidates 4"
    cut = SamplingSetting.parse("style=8,plausibility=0.1")
    assert cut.plausibility == 0.1 and cut.key == "style 8, plausibility 0.1"
    with pytest.raises(ValueError, match="needs style"):
        SamplingSetting.parse("ramp=3")
    with pytest.raises(ValueError, match="not one of"):
        SamplingSetting.parse("style=1,warp=2")
