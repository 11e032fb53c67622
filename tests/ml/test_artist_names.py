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
