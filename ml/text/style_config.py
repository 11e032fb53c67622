"""The style report's settings, apart from the report (which needs torch and scikit-learn),
so the command line can show their defaults without importing either."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml.errors import BalladeerError


@dataclass
class StyleReportConfig:
    top_artists: int = 10
    samples_per_artist: int = 20
    strengths: list[float] = field(default_factory=lambda: [0.0, 1.0, 1.5, 2.0, 3.0, 4.0])
    sample_length: int = 500
    temperature: float = 0.8
    seed: int = 1234
    copy_span: int = 40  # a verbatim run this long from the training text counts as copying
    max_fluency_loss: float = 0.3  # bits/char a strength may lose against s = 1 and still count

    def __post_init__(self) -> None:
        if self.top_artists < 2 or self.samples_per_artist < 1 or self.sample_length < self.copy_span:
            raise BalladeerError(
                "The style report needs at least 2 artists, 1 sample each, and samples at least "
                f"{self.copy_span} characters long."
            )
        if not self.strengths or min(self.strengths) < 0:
            raise BalladeerError("Style strengths must be a non-empty list of numbers ≥ 0.")
