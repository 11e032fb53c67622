"""Artist names as people type them: accents, parts of a name, one slip, ambiguity."""

import pytest

from ml.errors import UnknownArtistError
from ml.text.artists import ANY_ARTIST, AmbiguousArtistError, ArtistTable, typo_distance

NAMES = [
    ANY_ARTIST,
    "Beyoncé",
    "Kanye West",
    "Lady Gaga",
    "Taylor Swift",
    "James Taylor",
    "Chris Brown",
    "Chris Rea",
    "A$AP Rocky",
    "Guns N' Roses",
    "The Beatles",
    "Bad Company",
    "Metallica",
]
COUNTS = {"Chris Brown": 80, "Chris Rea": 30, "Taylor Swift": 120, "James Taylor": 60}


@pytest.fixture
def table():
    return ArtistTable(NAMES, COUNTS)


@pytest.mark.parametrize(
    ("typed", "name", "how"),
    [
        ("beyonce", "Beyoncé", "exact"),  # accents folded
        ("BEYONCÉ", "Beyoncé", "exact"),
        ("asap rocky", "A$AP Rocky", "exact"),
        ("guns n roses", "Guns N' Roses", "exact"),
        ("Beatles", "The Beatles", "exact"),
        ("Kanye", "Kanye West", "part"),  # a part that names one artist alone
        ("gaga", "Lady Gaga", "part"),
        ("Tayor Swift", "Taylor Swift", "typo"),  # one slip
        ("Metalica", "Metallica", "typo"),
        ("The Beetles", "The Beatles", "typo"),
    ],
)
def test_names_are_found_the_way_people_type_them(table, typed, name, how):
    found = table.match(typed)
    assert (found.name, found.how) == (name, how)
    assert found.inexact == (how in ("part", "typo"))
    assert table.names[found.index] == name


def test_a_name_that_fits_several_is_a_question_with_the_better_known_first(table):
    with pytest.raises(AmbiguousArtistError) as caught:
        table.match("Chris")
    assert caught.value.suggestions == ["Chris Brown", "Chris Rea"]
    assert "could be Chris Brown or Chris Rea" in str(caught.value)
    with pytest.raises(AmbiguousArtistError) as caught:
        table.match("taylor")
    assert caught.value.suggestions == ["Taylor Swift", "James Taylor"]


def test_unknown_names_suggest_only_what_looks_alike(table):
    with pytest.raises(UnknownArtistError) as caught:
        table.match("Bad Bunny")
    assert "Bad Company" not in caught.value.suggestions  # shares a word, not a name
    with pytest.raises(UnknownArtistError) as caught:
        table.match("Tylr Swiftt")  # three slips: suggested, not assumed
    assert caught.value.suggestions[0] == "Taylor Swift"
    assert table.match("").name is None and table.match(None).index == 0


def test_typo_distance_counts_swaps_as_one():
    assert typo_distance("alpah", "alpha", 2) == 1
    assert typo_distance("tayor swift", "taylor swift", 2) == 1
    assert typo_distance("abc", "xyz", 1) == 2  # past the limit: limit + 1


def test_every_credit_on_a_song_counts():
    from ml.text.stand_ins import credits

    assert credits("Calvin Harris & Dua Lipa") == ["Calvin Harris & Dua Lipa", "Calvin Harris", "Dua Lipa"]
    assert credits("Drake feat. Rihanna") == ["Drake feat. Rihanna", "Drake", "Rihanna"]
    assert credits("Lil Nas X") == ["Lil Nas X"]  # an X inside a name is no credit
    assert credits("Tyler, The Creator") == ["Tyler, The Creator"]


def test_an_artist_with_a_handful_of_songs_gets_the_nearest_known_one():
    from ml.text.data import Song
    from ml.text.stand_ins import stand_ins

    sea = "the ocean waves and the sailing boat on the tide of salt water"
    fields = "the harvest corn and the barn on the meadow of golden wheat"
    songs = [Song("Sailor", f"s{i}", sea) for i in range(5)] + [
        Song("Farmer", f"f{i}", fields) for i in range(5)
    ]
    songs += [Song("Deckhand & Farmer", f"d{i}", sea + " and the boat") for i in range(8)]  # credits both
    songs += [Song("Rare Bird", "r", fields)]  # one song: too few to stand in for
    table = ArtistTable([ANY_ARTIST, "Sailor", "Farmer"], {"Sailor": 5, "Farmer": 5})
    found = stand_ins(songs, table)
    assert found == {"Deckhand": "Sailor", "Deckhand & Farmer": "Sailor"}
    with_stand_ins = ArtistTable(table.names, table.song_counts, found)
    match = with_stand_ins.match("deckhand")
    assert (match.name, match.how, match.stand_in_for, match.inexact) == (
        "Sailor",
        "stand_in",
        "Deckhand",
        True,
    )
    assert "Deckhand" in with_stand_ins.ranked("Deck")
