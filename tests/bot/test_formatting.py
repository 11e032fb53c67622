from bot.formatting import MESSAGE_LIMIT, about_text, artist_page, chunk_message, fit, lyrics_messages, safe
from bot.requests import LyricsOptions, LyricsReply


def test_chunks_respect_the_limit_and_cut_at_line_ends():
    lines = [f"line {i} " + "la " * (i % 40) for i in range(400)]
    text = "\n".join(lines)
    chunks = chunk_message(text)
    assert all(len(c) <= MESSAGE_LIMIT for c in chunks) and len(chunks) > 1
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, no line split


def test_an_overlong_line_is_cut_hard():
    chunks = chunk_message("x" * 4500)
    assert [len(c) for c in chunks] == [2000, 2000, 500]


def test_generated_text_cannot_ping_or_format():
    text = safe("@everyone look at **this** and <@123456789012345678>\n# Heading")
    assert "@everyone" not in text and "<@123456789012345678>" not in text
    assert "\\*\\*this\\*\\*" in text and "\n\\# Heading" in text


def test_lyrics_messages_have_a_header_and_fit():
    reply = LyricsReply(
        request_id=1,
        text="Why oh why\n" * 300,
        artist="Bob Marley",
        options=LyricsOptions("Bob Marley", "Why", 0.9, 1500, 42, 2.0),
        ended=False,
        unknown_chars=[],
    )
    messages = lyrics_messages(reply)
    assert messages[0].startswith(
        "🎤 Lyrics in the style of **Bob Marley** · temperature 0.9 · style 2 · seed 42"
    )
    assert all(len(m) <= MESSAGE_LIMIT for m in messages) and len(messages) == 2


def test_fit_makes_any_text_one_message():
    assert fit("short") == "short"
    assert fit("y" * MESSAGE_LIMIT) == "y" * MESSAGE_LIMIT
    cut = fit("y" * 5000)
    assert len(cut) == MESSAGE_LIMIT and cut.endswith("…")


def test_artist_pages_hold_many_names_and_say_how_to_reach_the_rest():
    counts = {f"Artist {i:03d}": 300 - i for i in range(100)}
    ranked = sorted(counts, key=lambda a: -counts[a])
    first = artist_page(ranked, counts, "", 1, 60)
    assert first.startswith("I know 100 artists; 100, page 1 of 3:")
    assert "Artist 000 (300 songs)" in first and "Artist 040" not in first
    assert "next: `/artists page:2`" in first and "`/artists search:NAME`" in first
    last = artist_page(ranked, counts, "", 99, 60)  # past the end: the last page
    assert "page 3 of 3" in last and "Artist 099 (201 songs)" in last and "next:" not in last
    found = artist_page(["Artist 007"], counts, "art 7", 1, 60)
    assert "1 matching 'art 7', page 1 of 1" in found and "search:NAME" not in found
    assert artist_page([], counts, "zzz", 1, 60) == "No artist I know matches 'zzz'; try part of the name."
    assert all(
        len(artist_page(ranked, {**counts, n: 1}, "", p, 60)) <= 2000 for n in ("x" * 100,) for p in (1, 2)
    )


def test_about_names_the_data_a_music_model_was_pre_trained_on():
    model = {"parameters": 3_849_486, "config": {"layers": 2, "hidden": 512}, "version": "abc123"}
    about = {
        "lyrics": {**model, "data": {"songs": 10, "artists": 2}, "metrics": {"val_bpc": 1.7}},
        "music": {
            "piano": {
                **model,
                "data": {
                    "source": "../shared/data/bl_other/Piano_midi.mat",
                    "train_tunes": 87,
                    "pretrained": {"source": "/data/MuseData.mat", "train_tunes": 524, "pretrained": None},
                },
                "metrics": {"val_nll_per_frame": 6.2003},
            }
        },
        "uptime_s": 60,
        "served": {},
        "batches": 0,
        "waiting": 0,
    }
    piano = about_text(about).splitlines()[1]
    assert "trained on 87 pieces (Piano_midi), pre-trained on 524 pieces (MuseData); validation 6.20" in piano
