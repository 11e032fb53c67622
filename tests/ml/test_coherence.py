"""The coherence measure on texts whose answer is known."""

import random

from ml.text.coherence import TopicSpace

SUBJECTS = {
    "sea": ["ocean", "waves", "shore", "sail", "tide", "boat", "sea", "salt", "harbor", "storm"],
    "fire": ["fire", "flame", "burn", "smoke", "ashes", "heat", "spark", "blaze", "ember", "coal"],
    "city": ["street", "lights", "traffic", "subway", "tower", "taxi", "corner", "neon", "avenue", "crowd"],
}


def _line(rng: random.Random, subject: str) -> str:
    return " ".join(rng.sample(SUBJECTS[subject], 4))


def _song(rng: random.Random, subject: str, lines: int = 8) -> str:
    return "\n".join(_line(rng, subject) for _ in range(lines))


def test_one_subject_is_more_coherent_than_lines_of_unrelated_songs():
    rng = random.Random(0)
    training = [_song(rng, subject) for subject in SUBJECTS for _ in range(30)]
    space = TopicSpace.fit(training, topics=5)
    one_subject = _song(rng, "sea")
    mixed = "\n".join(_line(rng, subject) for subject in ("sea", "fire", "city") * 3)
    assert space.coherence(one_subject) > 0.8
    assert space.coherence(one_subject) > space.coherence(mixed) + 0.3
    assert space.coherence("ocean waves") is None  # one line: nothing to hold together
    assert space.mean_coherence([one_subject, mixed, "x"]) is not None
