"""What a piano request asks for, and its defaults: the one place the command line, the
bot's settings and the generator read them from (imports nothing heavy, so `--help` stays
fast)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import numpy as np

from ml.music.form import FormPlan, Reprise
from ml.music.voicing import Voicing


@dataclass(frozen=True)
class PianoRequest:
    # Bars of a user's MIDI file the model reads before it plays on (/continue, --prime):
    # enough for it to hear the key, the meter and the texture.
    PRIME_BARS: ClassVar[float] = 16

    seconds: float = 30  # length of the new music, at the model's tempo
    temperature: float = 1.0
    seed: int | None = None
    prime: np.ndarray | None = None  # (frames, 88) bool: the piece starts with these
    max_notes: int | None = None  # cap on keys sounding together
    frames: int | None = None  # exact length in frames, overriding seconds
    onsets_per_frame: float | None = None  # the prime's note onsets per frame, to keep its rhythm
    form: FormPlan | None = None  # a phrase plan with repeats (new pieces only; ml.music.form)
    voicing: Voicing | None = None  # drawn in voices, e.g. a chorale's four (ml.music.voicing)
    reprise: Reprise | None = None  # a continuation's returns to its prime's phrases (ml.music.form)
