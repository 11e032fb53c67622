"""Lyrics data: read the Kaggle CSV, normalise, pick artists, split, and batch.

Two batch layouts feed the trainer. Streams (truncated BPTT): every training song,
wrapped in <bos>/<eos>, is laid end to end and cut into B parallel streams, so an
epoch reads each character once with no padding. Whole songs (full or checkpointed
BPTT): songs sorted by length and grouped, so padding stays small.
"""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ml.batch import Batch
from ml.errors import DataError, UnknownArtistError
from ml.sequences import padded_batches, shuffled, stream_batch
from ml.splits import split_items
from ml.text.artists import ANY_ARTIST, ArtistTable, close_matches
from ml.text.clean import artist_key
from ml.text.vocab import BOS, EOS, Vocab

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("artist", "song", "text")
MAX_SONG_CHARS = 50_000  # four times the longest real song in the data; longer is a broken row
MAX_FIELD_CHARS = 10_000_000  # past this a field is not lyrics at all: the file is refused

_TYPOGRAPHIC = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00b4": "'",
        "`": "'",
        # Cyrillic letters that look Latin, found inside English words ("lovе" with a Cyrillic е)
        "\u0430": "a",
        "\u0435": "e",
        "\u043e": "o",
        "\u0440": "p",
        "\u0441": "c",
        "\u0443": "y",
        "\u0445": "x",
        "\u0456": "i",
        "\u0410": "A",
        "\u0415": "E",
        "\u041e": "O",
        "\u0421": "C",
        "\u0422": "T",
    }
)
_BRACED_TAG_LINE = re.compile(r"^[ \t]*\{[^{}\n]*\}[ \t]*$", re.MULTILINE)  # "{Intro}", "{Chorus}"
_ODD_SPACES = re.compile(r"[^\S\n]")  # no-break, hair, thin and other spaces: all one space
_TRAILING_SPACES = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_NOT_WORD = re.compile(r"[\W_]+")
COVER_LINE_LETTERS = 20  # lines shorter than this ("oh baby", "la la la") say nothing about a song
COVER_SHARE = 0.5  # a song sharing this share of its long lines with another is a cover of it


@dataclass(frozen=True)
class Song:
    artist: str
    title: str
    text: str

    @property
    def identity(self) -> str:
        return f"{self.artist}\x00{self.title}"

    @property
    def lyric_key(self) -> str:
        """The words alone (letters and digits, case folded): the same lyric under two
        titles or with other punctuation has the same key."""
        return _NOT_WORD.sub("", self.text.casefold())

    @property
    def long_lines(self) -> set[str]:
        """Its distinct lines long enough to identify it, reduced to their words."""
        lines = (_NOT_WORD.sub("", line.casefold()) for line in self.text.split("\n"))
        return {line for line in lines if len(line) >= COVER_LINE_LETTERS}


def normalize_lyrics(text: str) -> str:
    """Plain ASCII-ish lyrics: LF line ends, no trailing spaces, no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TYPOGRAPHIC)
    text = "".join(ch for ch in text if ch in "\n\t" or not unicodedata.category(ch).startswith("C"))
    text = _BRACED_TAG_LINE.sub("", _ODD_SPACES.sub(" ", text))
    text = _TRAILING_SPACES.sub("\n", text)
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()


def read_songs(path: str | Path) -> list[Song]:
    """Songs from a Kaggle-format lyrics CSV, read row by row; rows with empty text are
    skipped, and so (with a warning and a count) are songs over MAX_SONG_CHARS."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; --data takes a lyrics CSV file.")
    if not path.is_file():
        raise DataError(f"Lyrics file not found: {path}")
    csv.field_size_limit(MAX_FIELD_CHARS)
    songs, too_long = [], 0
    reader = None
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # a byte-order mark is allowed
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"{path} lacks the column(s) {', '.join(missing)}; expected the Kaggle "
                    "lyrics header artist,song,link,text."
                )
            for row in reader:
                raw = row["text"] or ""
                if len(raw) > MAX_SONG_CHARS:
                    too_long += 1
                    log.warning(
                        "%s line %d: skipping a song of %s characters (the limit is %s)",
                        path,
                        reader.line_num,
                        f"{len(raw):,}",
                        f"{MAX_SONG_CHARS:,}",
                    )
                    continue
                text = normalize_lyrics(raw)
                artist = (row["artist"] or "").strip()
                if text and artist:
                    songs.append(Song(artist, (row["song"] or "").strip(), text))
    except UnicodeDecodeError:
        line, byte = _first_non_utf8(path)
        raise DataError(
            f"{path} is not UTF-8 text (line {line:,} holds the byte 0x{byte:02x}); "
            "save it as UTF-8 and try again."
        ) from None
    except csv.Error as exc:
        line = reader.line_num + 1 if reader is not None else 1  # the row being read when it failed
        raise DataError(f"{path} line {line:,}: not a valid lyrics CSV row ({exc}).") from None
    if too_long:
        log.warning("skipped %d songs longer than %s characters", too_long, f"{MAX_SONG_CHARS:,}")
    if not songs:
        raise DataError(f"{path} holds no songs with lyrics.")
    return songs


def read_song_files(paths: list[Path]) -> list[Song]:
    """The songs of every file, each artist under one spelling (see `one_spelling`)."""
    return one_spelling([read_songs(path) for path in paths])


def one_spelling(files: list[list[Song]]) -> list[Song]:
    """Songs of several files with each artist under one name, so "Ace of Base" and "Ace Of
    Base" (or "The Beatles" and "Beatles") train as one artist. The spelling of the earliest
    file that has the artist wins, within a file the commonest, so adding a file never renames
    (and so never re-splits) the songs of the files before it."""
    chosen: dict[str, str] = {}
    for songs in files:
        spellings = Counter(song.artist for song in songs)
        for artist, _ in spellings.most_common():
            chosen.setdefault(artist_key(artist), artist)
    return [replace(song, artist=chosen[artist_key(song.artist)]) for songs in files for song in songs]


def spelled_as(songs: list[Song], table: ArtistTable) -> list[Song]:
    """Songs with each artist the table knows under the table's spelling (a model trained on
    "The Beatles" scores a file's "Beatles"); other artists keep theirs."""
    return [replace(song, artist=table.spelling(song.artist) or song.artist) for song in songs]


def _first_non_utf8(path: Path) -> tuple[int, int]:
    """(line number, byte) of the first byte that is not UTF-8. Lines decode on their own:
    a newline byte is never part of a multi-byte character."""
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, line[exc.start]
    return 0, 0


def select_artists(songs: list[Song], artists: list[str] | None = None, min_songs: int = 1) -> list[Song]:
    """Songs of the named artists (case-insensitive) by artists with ≥ min_songs songs."""
    counts = Counter(s.artist for s in songs)
    if artists:
        known = {a.casefold(): a for a in counts}
        for name in artists:
            if name.casefold() not in known:
                raise UnknownArtistError(name, close_matches(name, list(counts)))
        wanted = {name.casefold() for name in artists}
        songs = [s for s in songs if s.artist.casefold() in wanted]
    kept = [s for s in songs if counts[s.artist] >= min_songs]
    if not kept:
        raise DataError(f"No artist has at least {min_songs} songs in the selection.")
    return kept


def split_songs(songs: list[Song], fraction: float) -> tuple[list[Song], list[Song]]:
    """(train, validation), decided by a stable hash of artist and title. Copies of one
    lyric (another title, a live version) all follow the first of them by that identity,
    and a training song that covers a validation song is left out, so a lyric never sits
    on both sides."""
    group: dict[str, str] = {}
    for song in songs:
        group[song.lyric_key] = min(group.get(song.lyric_key, song.identity), song.identity)
    train, val = split_items(songs, lambda s: group[s.lyric_key], fraction, "songs")
    return without_covers(train, val), val


def without_covers(songs: list[Song], held_out: list[Song]) -> list[Song]:
    """`songs` less copies of a held-out song and those sharing at least COVER_SHARE of their
    long lines with one: a cover under another artist or title, a standard sung by many."""
    held_out_keys = {song.lyric_key for song in held_out}
    holders: dict[str, list[int]] = {}
    for index, song in enumerate(held_out):
        for line in song.long_lines:
            holders.setdefault(line, []).append(index)

    def is_cover(song: Song) -> bool:
        if song.lyric_key in held_out_keys:
            return True
        lines = song.long_lines
        shared = Counter(index for line in lines for index in holders.get(line, ()))
        return bool(shared) and max(shared.values()) >= COVER_SHARE * len(lines)

    return [song for song in songs if not is_cover(song)]


@dataclass
class LyricsCorpus:
    """Songs encoded for one vocabulary and artist table (index 0 is 'any artist')."""

    vocab: Vocab
    artists: list[str]
    songs: list[Song]
    condition_dropout: float = 0.0

    def __post_init__(self) -> None:
        self._artist_ids = {a: i for i, a in enumerate(self.artists)}
        self.sequences = [
            torch.tensor([BOS, *self.vocab.encode(s.text).ids, EOS], dtype=torch.long) for s in self.songs
        ]
        self.song_artists = torch.tensor(
            [self._artist_ids.get(s.artist, 0) for s in self.songs], dtype=torch.long
        )

    @property
    def characters(self) -> int:
        """Scored positions: every character plus each song's end token."""
        return sum(len(seq) - 1 for seq in self.sequences)

    def _artist_draw(self, generator: torch.Generator | None) -> torch.Tensor:
        """Artist ids per song, each replaced by 'any artist' with the dropout probability."""
        if generator is None or self.condition_dropout <= 0:
            return self.song_artists
        drop = torch.rand(len(self.songs), generator=generator) < self.condition_dropout
        return torch.where(drop, torch.zeros_like(self.song_artists), self.song_artists)

    def streams(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        """All songs, shuffled when a generator is given, laid into B parallel streams."""
        order = shuffled(len(self.sequences), generator)
        return stream_batch(self.sequences, self._artist_draw(generator), batch_size, order)

    def song_batches(self, batch_size: int, generator: torch.Generator | None = None) -> list[Batch]:
        """Whole songs, grouped by length and padded; batch order shuffled when training."""
        return padded_batches(self.sequences, self._artist_draw(generator), batch_size, generator)


def artist_table(songs: list[Song], conditional: bool) -> tuple[list[str], dict[str, int]]:
    """Artist list (index 0 = any artist) and song counts; empty list when unconditional."""
    counts = Counter(s.artist for s in songs)
    if not conditional:
        return [], dict(counts)
    return [ANY_ARTIST, *sorted(counts, key=str.casefold)], dict(counts)
