"""What a piano checkpoint says about its data, typed: saved as a plain dict (so the
checkpoint loads with weights_only=True), read back through these classes, never by keys."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ml.music.pianoroll import DEFAULT_TEMPO_BPM
from ml.splits import DEFAULT_VALIDATION_FRACTION

C_MAJOR_TRIAD = [39, 43, 46]  # keys (0 = A0) a piece may open with when no openings were saved


@dataclass(frozen=True)
class PianoData:
    """The pieces a model was trained and validated on."""

    source: str = ""
    kind: str = ""  # "midi-folder" or "benchmark"
    train_tunes: int = 0
    val_tunes: int = 0
    train_frames: int = 0
    val_frames: int = 0
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    augment_semitones: int = 0
    files_skipped: int = 0  # MIDI files that could not be read (a MIDI folder only)
    notes_out_of_range: int = 0
    also_train: dict[str, Any] | None = None  # --also-train: its source and what the leakage rule kept
    # --init-from: what the starting weights were trained on (source, train_tunes, their own
    # pretrained), so a fine-tuned model still names all of its data.
    pretrained: dict[str, Any] | None = None

    def as_pretraining(self) -> dict[str, Any]:
        """This data, as a model fine-tuned from it records it."""
        return {"source": self.source, "train_tunes": self.train_tunes, "pretrained": self.pretrained}


@dataclass(frozen=True)
class PianoMeta:
    frames_per_beat: int
    tempo_bpm: float = DEFAULT_TEMPO_BPM
    transpose: bool = True  # pieces were read transposed to C major / A minor (the default)
    openings: list[list[int]] = field(
        default_factory=lambda: [C_MAJOR_TRIAD]
    )  # first chords of training tunes
    # The most keys any training frame holds: a piece is never written with more (a chorale
    # has four voices). None for checkpoints saved before it was recorded.
    max_keys: int | None = None
    # Semitones from the training data's register to the pitch it sounds at: the JSB
    # benchmark's chorales are written an octave above Bach's (-12). A user's piece is read
    # into the data's register and a piece written back out of it.
    sounding_shift: int = 0
    data: PianoData = field(default_factory=PianoData)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> PianoMeta:
        known = {f.name for f in fields(PianoData)}
        data = PianoData(**{k: v for k, v in meta.get("data", {}).items() if k in known})
        return cls(
            frames_per_beat=meta["frames_per_beat"],
            tempo_bpm=meta.get("tempo_bpm", DEFAULT_TEMPO_BPM),
            transpose=meta.get("transpose", True),
            openings=meta.get("openings") or [C_MAJOR_TRIAD],
            max_keys=meta.get("max_keys"),
            sounding_shift=meta.get("sounding_shift", 0),
            data=data,
        )
