"""Which style a user's piece reads as: the model that finds it least surprising.

Each style's model reads the piece on its own grid and in its own key convention, and
scores it in nats per frame; models of different grids score frames of different lengths,
so the figures are compared per beat, and the lowest wins."""

from __future__ import annotations

from dataclasses import dataclass

from ml.music.generate import PianoGenerator
from ml.music.prime import PrimePiece


@dataclass(frozen=True)
class StyleReading:
    style: str
    nats_per_frame: dict[str, float]  # every style's score of the piece, on its own grid
    nats_per_beat: dict[str, float]  # the same, comparable across grids

    def explanation(self) -> str:
        """'reads as chorale: 4.1 nats/beat vs folk 7.9, piano 6.3'."""
        if not self.nats_per_beat:
            return f"is too short to tell its style, so it plays on as {self.style}"
        others = ", ".join(
            f"{style} {nats:.1f}" for style, nats in self.nats_per_beat.items() if style != self.style
        )
        vs = f" vs {others}" if others else ""
        return f"reads as {self.style}: {self.nats_per_beat[self.style]:.1f} nats/beat{vs}"


def read_style(generators: dict[str, PianoGenerator], prime: PrimePiece) -> StyleReading:
    """The style whose model gives `prime` the lowest NLL per beat (the grids can differ);
    a piece of a single frame is the first style's."""
    per_frame, per_beat = {}, {}
    for style, generator in generators.items():
        roll = generator.read(prime).roll
        if len(roll) < 2:  # nothing to predict
            continue
        per_frame[style] = generator.nll_per_frame(roll)
        per_beat[style] = per_frame[style] * generator.frames_per_beat
    best = min(per_beat, key=per_beat.get) if per_beat else next(iter(generators))
    return StyleReading(best, per_frame, per_beat)
