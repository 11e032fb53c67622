"""Babble, runs of one word and unbalanced marks: what a reader strikes out."""

from ml.text.safety import masked, profanity_rate, swears, within_swearing
from ml.text.surface import MAX_WORD_REPEATS, balanced, is_balanced, is_vocable_line, most_repeats, tidied


def test_vocable_lines_are_lines_of_nothing_but_vocables():
    for line in ("Hey, hey, hey", "(Oh, yeah)", "La la la la", "Ooooh, whoa-oh", "Mmm", "Na na na na na"):
        assert is_vocable_line(line), line
    for line in ("Hello, Hello, Hold, hey", "Oh, baby", "I do, I do", "", "(...)", "Yeah, I know"):
        assert not is_vocable_line(line), line


def test_brackets_and_quotes_are_paired_on_each_line():
    assert balanced("(Chorus] I") == "(Chorus) I"
    assert balanced("[Verse 1") == "[Verse 1]"
    assert balanced("We go (home") == "We go (home)"
    assert balanced("no reason) at all") == "no reason at all"
    assert balanced('He said "go') == 'He said "go"'
    assert balanced('He said go" now') == "He said go now"
    assert balanced("“Hold on") == "“Hold on”"
    assert balanced("(Why, (why))") == "(Why, (why))"
    assert is_balanced('(a)\n[b]\n"c"') and not is_balanced("(a\nb")


def test_a_reply_keeps_its_words_and_loses_its_babble():
    text = "\n".join(
        ["I walk the line", "Hey, hey, hey", "Oh, yeah", "", "", "", "We go (home", "yeah " * 20, "To you"]
    )
    tidy, dropped = tidied(text)
    assert tidy == "I walk the line\n\nWe go (home)\nTo you"
    assert dropped == 3 and most_repeats("yeah " * 20) > MAX_WORD_REPEATS
    long_song = "\n".join(["A line of words"] * 40 + ["Oh, oh, oh"] * 3)
    assert tidied(long_song)[0].count("Oh, oh, oh") == 1  # 3% of 43 lines: one is a song's


def test_the_users_own_start_is_kept_as_given():
    text = "la la la\nHey hey hey\nI know"
    assert tidied(text, keep_lines=1)[0] == "la la la\nI know"


def test_profanity_is_masked_or_left_out_and_covers_slang():
    text, count = masked("Piss off, hoes and thots")
    assert count == 3 and "Piss" not in text and "hoes" not in text and "thots" not in text
    clean, cut = within_swearing("I start here, shit\nshit happens\nand I sing", 0.0, keep_lines=1)
    assert clean == "I start here, shit\nand I sing" and cut == 1
    verse = "\n".join(["shit, it all, we sing"] * 4 + ["we sing along tonight, oh what a night"] * 6)
    assert profanity_rate([verse]) == 1000 * 4 / 68
    kept, cut = within_swearing(verse, 40.0)  # 40 per 1,000 words: 1 beside these 48 clean words
    assert kept.count("shit") == 1 and cut == 3 and profanity_rate([kept]) <= 40.0
    assert swears(["love", "shit"]) and not swears(["love", "heart", "shitake"][:2])
