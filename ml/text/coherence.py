"""Does a reply hold one subject? A measure a reader would agree with.

A topic space is fitted on training lyrics: TF-IDF over content words (English stop words
out), reduced by LSA (truncated SVD) to TOPICS dimensions, so that "ocean", "waves" and
"shore" land near each other even when no two lines share a word. A text's coherence is
the mean, over its lines with at least MIN_LINE_WORDS content words, of the cosine between
that line and the rest of the text: lines of one song about one thing score high, lines
drawn from unrelated songs score low. Measured the same way on real unseen songs and on
replies (ml.text.style).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ml.text.quality import lines

TOPICS = 100
MIN_DOCUMENT_COUNT = 3  # a word in fewer training songs says nothing general
MIN_LINE_WORDS = 2


class TopicSpace:
    """Lines and texts as unit vectors in an LSA topic space fitted on training lyrics."""

    def __init__(self, vectorizer, svd) -> None:
        self._vectorizer = vectorizer
        self._svd = svd
        self._analyze = vectorizer.build_analyzer()

    @classmethod
    def fit(cls, texts: Iterable[str], topics: int = TOPICS, seed: int = 0) -> TopicSpace:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = list(texts)
        vectorizer = TfidfVectorizer(
            stop_words="english", min_df=min(MIN_DOCUMENT_COUNT, len(texts)), sublinear_tf=True
        )
        matrix = vectorizer.fit_transform(texts)
        svd = TruncatedSVD(n_components=max(1, min(topics, matrix.shape[1] - 1)), random_state=seed)
        svd.fit(matrix)
        return cls(vectorizer, svd)

    def _vectors(self, pieces: list[str]) -> np.ndarray:
        reduced = self._svd.transform(self._vectorizer.transform(pieces))
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        return np.divide(reduced, norms, out=np.zeros_like(reduced), where=norms > 0)

    def coherence(self, text: str) -> float | None:
        """Mean cosine between each content line and the rest of the text (None when fewer
        than two lines have content words)."""
        found = [line for line in lines(text) if len(self._analyze(line)) >= MIN_LINE_WORDS]
        if len(found) < 2:
            return None
        rests = ["\n".join(found[:i] + found[i + 1 :]) for i in range(len(found))]
        line_vectors, rest_vectors = self._vectors(found), self._vectors(rests)
        return float(np.mean(np.sum(line_vectors * rest_vectors, axis=1)))

    def mean_coherence(self, texts: Iterable[str]) -> float | None:
        values = [c for c in map(self.coherence, texts) if c is not None]
        return sum(values) / len(values) if values else None
