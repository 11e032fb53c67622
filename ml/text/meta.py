"""What a lyrics checkpoint says about its data, typed: saved as a plain dict (so the
checkpoint loads with weights_only=True), read back through this class, never by keys."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ml.splits import DEFAULT_VALIDATION_FRACTION
from ml.text.lexicon import ArtistLexicon


@dataclass(frozen=True)
class LyricsData:
    """The songs a model was trained and validated on."""

    source: str = ""
    songs: int = 0
    train_songs: int = 0
    val_songs: int = 0
    artists: int = 0
    train_chars: int = 0
    val_chars: int = 0
    min_songs: int = 1
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    song_counts: dict[str, int] = field(default_factory=dict)  # training songs per artist
    any_artist_songs: int = 0  # other artists' songs, trained only as "any artist"
    # The selection flags, so a resume can insist on the same (None: a checkpoint from before).
    asked_artists: list[str] | None = None  # --artists, [] when not given
    others_as_any_artist: bool | None = None


@dataclass(frozen=True)
class LyricsMeta:
    vocab: list[str]
    artists: list[str]  # index order; "any artist" first when conditional, empty otherwise
    data: LyricsData = field(default_factory=LyricsData)
    lexicon: ArtistLexicon | None = None  # the judge of candidate replies (None: an older checkpoint)
    stand_ins: dict[str, str] = field(default_factory=dict)  # unknown artist → known one (ml.text.stand_ins)
    swearing: dict[str, float] = field(default_factory=dict)  # artist → profane words per 1,000 in training

    def to_dict(self) -> dict[str, Any]:
        saved = {"vocab": self.vocab, "artists": self.artists, "data": asdict(self.data)}
        if self.lexicon is not None:
            saved["lexicon"] = self.lexicon.to_dict()
        if self.stand_ins:
            saved["stand_ins"] = dict(self.stand_ins)
        if self.swearing:
            saved["swearing"] = dict(self.swearing)
        return saved

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> LyricsMeta:
        known = {f.name for f in fields(LyricsData)}
        data = {k: v for k, v in meta.get("data", {}).items() if k in known}
        lexicon = ArtistLexicon.from_dict(meta["lexicon"]) if "lexicon" in meta else None
        return cls(
            vocab=list(meta["vocab"]),
            artists=list(meta.get("artists", [])),
            data=LyricsData(**data),
            lexicon=lexicon,
            stand_ins=dict(meta.get("stand_ins", {})),
            swearing={k: float(v) for k, v in meta.get("swearing", {}).items()},
        )
