"""The word lexicon that judges candidate replies (ml.text.lexicon)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.checkpoint import load_checkpoint, save_checkpoint
from ml.text.data import Song
from ml.text.lexicon import NON_WORD, RHYME_WEIGHT, SWEARING, ArtistLexicon
from tests.lyrics_fixtures import two_artist_rows, write_lyrics_csv

ARTISTS = ["", "Sailor", "Farmer"]  # index 0 is "any artist"
SAILOR = "the sea the ship the wave\nthe sea is wide and the ship is slow\n"
FARMER = "the field the corn the barn\nthe field is wide and the corn is slow\n"
SHARED = "and the night is long and the road is wide\nand the song\n"


def _lexicon() -> ArtistLexicon:
    songs = [("Sailor", SAILOR)] * 5 + [("Farmer", FARMER)] * 5 + [("Nobody", SHARED)] * 10
    return ArtistLexicon.build(
        [Song(artist, f"{artist} {i}", text) for i, (artist, text) in enumerate(songs)], ARTISTS
    )


def test_an_artists_own_words_score_highest_for_that_artist():
    lexicon = _lexicon()
    sailor, farmer = ARTISTS.index("Sailor"), ARTISTS.index("Farmer")
    sea = "the ship and the sea is slow"
    corn = "the corn and the field is wide"
    assert lexicon.score(sea, sailor) > lexicon.score(sea, farmer)
    assert lexicon.score(corn, farmer) > lexicon.score(corn, sailor)
    assert lexicon.score(sea, 0) == lexicon.score(corn, 0) == 0.0  # "any artist" has no favourites


def test_garbled_words_cost_and_rhymes_earn():
    lexicon = _lexicon()
    assert lexicon.score("the sea shipx wavv", 1) < lexicon.score("the sea the ship", 1)
    assert lexicon.score("zzq qqz", 1) == NON_WORD
    assert lexicon.score("", 1) == NON_WORD
    unrhymed = "the song is long\nthe road is wide"
    rhymed = "is the road wide long\nthe is song"  # the same words, "long" / "song" at the ends
    assert lexicon.score(rhymed, 0) - lexicon.score(unrhymed, 0) == pytest.approx(RHYME_WEIGHT)
    repeated = "the road is long\nthe song is long"  # the same end word again is no rhyme
    assert lexicon.score(repeated, 0) == pytest.approx(0.0)


def test_swearing_is_never_evidence_of_the_artist():
    """An artist who swears now and then: their candidates are not judged by the swearing."""
    verse = "the damn ship\nthe shit sea\nthe ship sails\n"
    songs = [Song("Sailor", f"s{i}", verse * 3) for i in range(4)] + [
        Song("Farmer", f"f{i}", "the field\nthe corn\n" * 3) for i in range(4)
    ]
    lexicon = ArtistLexicon.build(songs, ARTISTS)
    sailor = ARTISTS.index("Sailor")
    assert "shit" in lexicon.words_of(sailor)  # a word the sailor uses, and often
    assert lexicon.score("the ship sea", sailor) > lexicon.score("the shit sea", sailor)
    assert lexicon.score("shit", sailor) == lexicon.score("shit", ARTISTS.index("Farmer")) == SWEARING


def test_words_the_text_rarely_holds_are_not_in_it():
    lexicon = ArtistLexicon.build([Song("Sailor", "Sea", "the sea\nthe sea\nthe sea\nonce")], ARTISTS)
    assert lexicon.vocabulary == ["sea", "the"]  # "once" was seen once: not a known word
    assert lexicon.score("once", 1) == NON_WORD


def test_round_trips_through_a_plain_dict():
    lexicon = _lexicon()
    again = ArtistLexicon.from_dict(lexicon.to_dict())
    assert again.vocabulary == lexicon.vocabulary
    assert torch.equal(again.affinity, lexicon.affinity) and torch.equal(again.offsets, lexicon.offsets)
    text = "the sea is wide\nthe ship is slow"
    assert again.score(text, 1) == lexicon.score(text, 1)


def test_an_unconditional_models_lexicon_judges_words_only():
    lexicon = ArtistLexicon.build([Song("Anyone", f"Song {i}", SAILOR) for i in range(3)], [])
    assert lexicon.artists == 0
    assert lexicon.score("the sea", 0) == 0.0 and lexicon.score("qqz", 0) == NON_WORD


ATTACH = Path(__file__).resolve().parents[2] / "scripts" / "attach_lexicon.py"


def test_an_older_checkpoint_gets_the_lexicon_training_writes(
    tiny_lyrics_checkpoint, two_artist_csv, tmp_path
):
    trained = load_checkpoint(tiny_lyrics_checkpoint, "lyrics")
    older = dataclasses.replace(trained, meta={k: v for k, v in trained.meta.items() if k != "lexicon"})
    path = tmp_path / "older.pt"
    save_checkpoint(path, older)
    run = subprocess.run(
        [sys.executable, ATTACH, path, "--data", two_artist_csv], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    attached = load_checkpoint(path, "lyrics").meta["lexicon"]
    assert attached["vocabulary"] == trained.meta["lexicon"]["vocabulary"]
    assert torch.equal(attached["affinity"], trained.meta["lexicon"]["affinity"])

    other = write_lyrics_csv(tmp_path / "other.csv", two_artist_rows(songs_per_artist=10))
    run = subprocess.run([sys.executable, ATTACH, path, "--data", other], capture_output=True, text=True)
    assert run.returncode == 2 and "Pass the files it was trained on" in run.stderr
