"""The quality report's settings, apart from the report (which needs torch and scikit-learn),
so the command line can show their defaults without importing either."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from ml.errors import BalladeerError
from ml.text.request import MAX_CANDIDATES, STRONGEST_STYLE, LyricsRequest


@dataclass(frozen=True)
class SamplingSetting:
    """One way of writing a reply: guidance strength and the nudges of ml.text.generate."""

    style: float
    ramp: int = 0  # characters over which guidance rises from 1 to `style`
    min_p: float = 0.0
    plausibility: float = 0.0  # guidance writes nothing the artist's own model finds implausible
    recall: float = 0.0
    rhyme: float = 0.0
    candidates: int = 1  # replies written per request, the most artist-like returned

    @property
    def key(self) -> str:
        """ "style 4, ramp 60, min_p 0.1": the strength, then what differs from the plain way."""
        plain = SamplingSetting(self.style)
        parts = [f"style {self.style:g}"]
        parts += [
            f"{f.name} {getattr(self, f.name):g}"
            for f in fields(self)[1:]
            if getattr(self, f.name) != getattr(plain, f.name)
        ]
        return ", ".join(parts)

    @classmethod
    def parse(cls, text: str) -> SamplingSetting:
        """From "style=4,ramp=60,min_p=0.1" (style first or anywhere; the rest default)."""
        names = {f.name: f.type for f in fields(cls)}
        values: dict[str, float] = {}
        for item in text.split(","):
            name, _, value = item.partition("=")
            name = name.strip()
            if name not in names:
                raise ValueError(f"{name!r} is not one of {', '.join(names)}")
            values[name] = int(value) if names[name] == "int" else float(value)
        if "style" not in values:
            raise ValueError("a setting needs style=")
        return cls(**values)

    def check(self) -> None:
        if self.style < 0 or self.ramp < 0 or not (0 <= self.min_p < 1 and 0 <= self.plausibility < 1):
            raise BalladeerError(f"{self.key}: style and ramp must be ≥ 0, min_p and plausibility in [0, 1).")
        if not (0 <= self.recall <= 1 and 0 <= self.rhyme <= 1):
            raise BalladeerError(f"{self.key}: recall and rhyme must be in [0, 1].")
        if not 1 <= self.candidates <= MAX_CANDIDATES:
            raise BalladeerError(f"{self.key}: candidates must be 1 to {MAX_CANDIDATES}.")


def _ablation_ladder() -> list[SamplingSetting]:
    """Plain guidance at each strength, then at s = 4 each nudge added in turn, then all of
    them at the other strengths, then with lighter cuts at the strong ones, then the best of
    4 or 8 candidates (and the bot's strongest style, 10), then with the plausibility cut:
    what each buys, and which strength and cut suit them."""
    plain = [SamplingSetting(s) for s in (0.0, 1.0, 2.0, 3.0, 4.0)]
    light_cut = SamplingSetting(4.0, min_p=0.1)
    cut = SamplingSetting(4.0, min_p=0.2)
    ramped = replace(cut, ramp=60)
    recalled = replace(ramped, recall=1.0)
    shaped = replace(recalled, rhyme=1.0)
    others = [replace(shaped, style=s) for s in (1.0, 2.0, 3.0, 5.0, 6.0)]
    lighter = [replace(shaped, style=s, min_p=p) for p in (0.1, 0.05) for s in (5.0, 6.0, 7.0, 8.0)]
    best_of = [replace(shaped, style=s, min_p=0.05, candidates=n) for n in (4, 8) for s in (6.0, 7.0, 8.0)]
    best_of.append(replace(shaped, style=STRONGEST_STYLE, min_p=0.05, candidates=8))  # the bot's top
    plausible = replace(shaped, style=8.0, min_p=0.05, plausibility=0.1)
    plausible_best_of = [
        *(replace(plausible, plausibility=p, candidates=8) for p in (0.05, 0.1, 0.2)),
        *(replace(plausible, style=s, candidates=8) for s in (6.0, STRONGEST_STYLE)),
        # lighter cuts, which copy less
        *(
            replace(plausible, style=s, plausibility=p, candidates=8)
            for s, p in ((8.0, 0.02), (7.0, 0.05), (7.0, 0.02), (6.0, 0.05))
        ),
        replace(plausible, style=STRONGEST_STYLE, plausibility=0.02, candidates=8),  # Stronger style's step
    ]
    return [
        *plain,
        light_cut,
        cut,
        ramped,
        recalled,
        shaped,
        *others,
        *lighter,
        *best_of,
        plausible,
        *plausible_best_of,
    ]


@dataclass
class StyleReportConfig:
    top_artists: int = 20
    samples_per_artist: int = 10
    settings: list[SamplingSetting] = field(default_factory=_ablation_ladder)
    sample_length: int = LyricsRequest.length
    temperature: float = LyricsRequest.temperature
    seed: int = 1234
    copy_span: int = 40  # a verbatim run this long from the training text counts as copying
    max_fluency_loss: float = 0.3  # bits/char a setting may lose against s = 1 and still count

    def __post_init__(self) -> None:
        if self.top_artists < 2 or self.samples_per_artist < 1 or self.sample_length < self.copy_span:
            raise BalladeerError(
                "The style report needs at least 2 artists, 1 sample each, and samples at least "
                f"{self.copy_span} characters long."
            )
        if not self.settings:
            raise BalladeerError("Give at least one sampling setting.")
        for setting in self.settings:
            setting.check()
