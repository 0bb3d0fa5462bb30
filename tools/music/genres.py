"""The genres bandmate writes and arranges in, with the short descriptions zero-shot classification
compares lyrics with (``prompts/genre_descriptions.json``), and a genre's score."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tools import PROMPTS_DIR

_DESCRIPTIONS: dict[str, list[str]] = json.loads(
    (PROMPTS_DIR / "genre_descriptions.json").read_text(encoding="utf-8")
)


GENRES: tuple[str, ...] = tuple(_DESCRIPTIONS)


@dataclass(frozen=True)
class GenreScore:
    """A genre and how well the lyrics fit it (scores over all genres sum to 1)."""

    genre: str
    score: float


def genre_descriptions() -> dict[str, list[str]]:
    """The short descriptions of each genre that zero-shot classification compares lyrics with."""
    return {g: list(d) for g, d in _DESCRIPTIONS.items()}
