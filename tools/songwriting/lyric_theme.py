"""How close lyric lines stay to the song's theme, measured with the sentence encoder."""

from __future__ import annotations

from core.errors import ToolError
from tools.models.encoder import embed_texts


class ThemeScorer:
    """How close lines are to the request's theme (cosine similarity with the sentence encoder); every
    line scores 0 when the encoder is not installed, so rhyme and meter alone choose."""

    def __init__(self, theme: str) -> None:
        self.theme = theme
        self._theme_vector = None
        self._available = True
        self._scores: dict[str, float] = {}      # a song ranks the same rhyme words again and again

    def similarity(self, texts: list[str]) -> list[float]:
        """Similarity of each text to the theme, in [-1, 1]."""
        if not texts or not self._available:
            return [0.0] * len(texts)
        new = list(dict.fromkeys(t for t in texts if t not in self._scores))
        try:
            if self._theme_vector is None:
                self._theme_vector = embed_texts([self.theme])[0]
            vectors = embed_texts(new) if new else []
        except ToolError:
            self._available = False
            return [0.0] * len(texts)
        self._scores.update((t, float(v @ self._theme_vector)) for t, v in zip(new, vectors))
        return [self._scores[t] for t in texts]

    def rank(self, words: list[str]) -> list[str]:
        """``words``, the most on-theme first (ties keep their order)."""
        scores = self.similarity(words)
        return [w for _, w in sorted(zip(scores, words), key=lambda pair: -pair[0])]
