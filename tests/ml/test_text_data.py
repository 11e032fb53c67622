import pytest
import torch

from ml.errors import DataError, UnknownArtistError
from ml.splits import is_validation
from ml.text.data import (
    LyricsCorpus,
    Song,
    normalize_lyrics,
    read_songs,
    select_artists,
    split_songs,
    without_covers,
)
from ml.text.vocab import BOS, EOS, UNK, Vocab
from tests.lyrics_fixtures import write_lyrics_csv


def test_reads_quoted_multiline_fields_and_skips_empty_text(tmp_path):
    path = write_lyrics_csv(
        tmp_path / "s.csv",
        [
            ("ABBA", "Song, with comma", 'She said "hi"\nand left\n\nagain'),
            ("ABBA", "Empty", ""),
            ("Cher", "Believe", "Do you believe\r\nin life"),
        ],
    )
    songs = read_songs(path)
    assert [s.title for s in songs] == ["Song, with comma", "Believe"]
    assert songs[0].text == 'She said "hi"\nand left\n\nagain'
    assert songs[1].text == "Do you believe\nin life"


def test_normalize_strips_kaggle_spacing_typography_and_control_characters():
    raw = "\u201cHello\u201d  \r\nit\u2019s me \u2014 again\x07  \n  \n\n\nend\u2026  "
    assert normalize_lyrics(raw) == '"Hello"\nit\'s me - again\n\nend...'


def test_missing_file_and_missing_columns_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_songs(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lyrics\nA,la\n")
    with pytest.raises(DataError, match="artist, song, text"):
        read_songs(bad)


def test_artist_filter_is_case_insensitive_and_unknown_names_get_suggestions():
    songs = [Song("Bob Marley", f"s{i}", "x") for i in range(3)] + [Song("ABBA", "a", "y")]
    assert {s.artist for s in select_artists(songs, ["bob marley"])} == {"Bob Marley"}
    with pytest.raises(UnknownArtistError) as err:
        select_artists(songs, ["Bob Marly"])
    assert err.value.suggestions == ["Bob Marley"]
    assert "Did you mean: Bob Marley" in str(err.value)
    assert {s.artist for s in select_artists(songs, min_songs=2)} == {"Bob Marley"}
    with pytest.raises(DataError, match="at least 5 songs"):
        select_artists(songs, min_songs=5)


def test_split_is_deterministic_per_song_and_independent_of_order():
    songs = [Song(f"artist{i % 7}", f"title{i}", f"la la {i}") for i in range(400)]
    train, val = split_songs(songs, 0.1)
    _, val2 = split_songs(list(reversed(songs)), 0.1)
    assert {s.identity for s in val} == {s.identity for s in val2}
    assert len(train) + len(val) == 400 and 20 < len(val) < 65
    assert all(is_validation(s.identity, 0.1) for s in val)  # unique lyrics: by artist and title


def test_copies_of_one_lyric_stay_on_one_side_of_the_split():
    songs = []
    for i in range(300):
        words = f"line {i} of a song\nand its chorus"
        songs.append(Song("A", f"title {i}", words))
        songs.append(Song("B", f"another title {i} (live)", words.upper().replace(" of", ", of!")))
    train, val = split_songs(songs, 0.1)
    assert val and train
    assert {s.lyric_key for s in train}.isdisjoint(s.lyric_key for s in val)
    assert len(val) % 2 == 0  # both copies, always


def verse(n: int) -> str:
    return "\n".join(f"this is the long line number {n}-{i} of a song" for i in range(8))


def test_a_cover_of_a_validation_song_is_left_out_of_training():
    songs = [Song("A", f"title {i}", verse(i)) for i in range(200)]
    _, val = split_songs(songs, 0.1)
    original = val[0]
    lines = original.text.split("\n")
    cover = Song("Z", "Another Title", "\n".join(lines[:5] + ["a line of my own making this cover"] * 3))
    half_cover = Song("Z", "Borrowed", "\n".join([*lines[:3], verse(999)]))
    short_lines = Song("Z", "Oh", "oh baby\nla la la\n" * 4)  # no line long enough to match on
    assert without_covers([cover, half_cover, short_lines], val) == [half_cover, short_lines]
    train, val = split_songs([*songs, cover], 0.1)
    assert cover not in train and cover not in val and len(train) + len(val) == 200


def test_vocab_round_trip_reports_unknown_characters():
    vocab = Vocab.build(["hello world"] * 3, min_count=3)
    encoded = vocab.encode("hello, world!")
    assert encoded.unknown == ["!", ","]
    assert encoded.ids.count(UNK) == 2
    assert vocab.decode(vocab.encode("hello world").ids) == "hello world"
    assert Vocab(vocab.to_list()).encode("low").ids == vocab.encode("low").ids
    assert vocab.decode([BOS, *vocab.encode("he").ids, EOS]) == "he"


def _corpus(songs, dropout=0.0):
    vocab = Vocab.build([s.text for s in songs], min_count=1)
    return LyricsCorpus(vocab, ["<any artist>", "A", "B"], songs, dropout)


def test_streams_read_every_character_once_without_scoring_song_starts():
    songs = [Song("A" if i % 2 else "B", str(i), "abc de" * (i + 1)) for i in range(9)]
    corpus = _corpus(songs)
    batch = corpus.streams(batch_size=4, generator=torch.Generator().manual_seed(1))
    assert batch.scored == corpus.characters  # every character and every end token, once
    scored_targets = batch.targets[batch.mask]
    assert (scored_targets == BOS).sum() == 0
    assert (scored_targets == EOS).sum() == len(songs)
    # Each position carries the artist of the song it belongs to.
    a_id = 1
    a_chars = sum(len(s.text) + 1 for s in songs if s.artist == "A")
    assert int(((batch.context == a_id) & batch.mask).sum()) == a_chars


def test_song_batches_hold_whole_songs_with_little_padding():
    songs = [Song("A", str(i), "x" * (10 + 3 * i)) for i in range(16)]
    batches = _corpus(songs).song_batches(batch_size=4)
    assert sum(b.scored for b in batches) == sum(len(s.text) + 1 for s in songs)
    padded = sum(b.mask.numel() for b in batches)
    assert padded / sum(b.scored for b in batches) < 1.15  # length bucketing


def test_condition_dropout_replaces_whole_songs_by_any_artist():
    songs = [Song("A", str(i), "abc") for i in range(400)]
    corpus = _corpus(songs, dropout=0.25)
    batches = corpus.song_batches(400, torch.Generator().manual_seed(0))
    per_song = batches[0].context[:, 0]
    assert 0.15 < (per_song == 0).float().mean() < 0.35
    assert all(len(set(row.tolist())) == 1 for row in batches[0].context)
