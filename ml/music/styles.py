"""Which style a user's piece reads as.

Each style's model reads the piece on its own grid, in its own key convention and
register, and scores it in nats per beat. Raw scores do not compare: the piano model, the
broadest, finds nearly everything less surprising than the narrower models find their own
music. A small multinomial logistic regression over all the models' scores, fitted on
openings of every style's validation pieces (scripts/fit_style_reader.py), puts them on one
footing; it is used when it was fitted on the very models loaded (StyleReader.fits), else
the lowest score wins.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.music.generate import PianoGenerator
from ml.music.prime import PrimePiece

MIN_NOTES = 2  # a piece of fewer notes gives nothing to compare


def weights_digest(generator: PianoGenerator) -> str:
    """The model's weights, fingerprinted: a reader fitted on other weights is not used."""
    digest = hashlib.sha256()
    for tensor in generator.model.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class StyleReader:
    """Style probabilities from every style model's nats per beat (one logistic regression)."""

    styles: tuple[str, ...]
    digests: tuple[str, ...]  # each model's weights_digest when fitted
    weights: tuple[tuple[float, ...], ...]  # (styles, styles): a style's row over the models' scores
    bias: tuple[float, ...]
    fitted_on: str = ""  # what it was fitted on and how well it did, for whoever reads the file

    def fits(self, generators: dict[str, PianoGenerator]) -> bool:
        return tuple(generators) == self.styles and all(
            weights_digest(g) == d for g, d in zip(generators.values(), self.digests, strict=True)
        )

    def probabilities(self, nats_per_beat: dict[str, float]) -> dict[str, float]:
        x = np.array([nats_per_beat[s] for s in self.styles])
        logits = np.array(self.weights) @ x + np.array(self.bias)
        p = np.exp(logits - logits.max())
        return dict(zip(self.styles, (p / p.sum()).tolist(), strict=True))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> StyleReader | None:
        """The reader stored at `path`, or None where there is none."""
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        return cls(
            tuple(data["styles"]),
            tuple(data["digests"]),
            tuple(tuple(row) for row in data["weights"]),
            tuple(data["bias"]),
            data.get("fitted_on", ""),
        )


@dataclass(frozen=True)
class StyleReading:
    style: str
    nats_per_frame: dict[str, float]  # every style's score of the piece, on its own grid
    nats_per_beat: dict[str, float]  # the same, comparable across grids
    confidence: float | None = None  # the reader's probability of the style, where one was used

    def explanation(self) -> str:
        """'reads as chorale (97%): 4.4 nats/beat vs folk 16.0, piano 9.2'."""
        if not self.nats_per_beat:
            return f"is too short to tell its style, so it plays on as {self.style}"
        others = ", ".join(
            f"{style} {nats:.1f}" for style, nats in self.nats_per_beat.items() if style != self.style
        )
        vs = f" vs {others}" if others else ""
        sure = f" ({self.confidence:.0%})" if self.confidence is not None else ""
        return f"reads as {self.style}{sure}: {self.nats_per_beat[self.style]:.1f} nats/beat{vs}"


def read_style(
    generators: dict[str, PianoGenerator], prime: PrimePiece, reader: StyleReader | None = None
) -> StyleReading:
    """The likeliest style of `prime` by `reader` (one that `fits` these models), else the
    style whose model gives it the lowest NLL per beat; a piece of fewer than MIN_NOTES
    notes is the first style's."""
    per_frame, per_beat = {}, {}
    if len(prime.window.notes) >= MIN_NOTES:
        for style, generator in generators.items():
            per_frame[style] = generator.nll_per_frame(generator.read(prime).roll)
            per_beat[style] = per_frame[style] * generator.frames_per_beat
    if not per_beat:
        return StyleReading(next(iter(generators)), per_frame, per_beat)
    if reader is not None:
        probabilities = reader.probabilities(per_beat)
        best = max(probabilities, key=probabilities.get)
        return StyleReading(best, per_frame, per_beat, probabilities[best])
    return StyleReading(min(per_beat, key=per_beat.get), per_frame, per_beat)
