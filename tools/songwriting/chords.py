"""Chord progressions per song section, conditioned on genre, mood and lyrics.

Every generator speaks key-relative Roman numerals (see :mod:`tools.music.harmony`)
and answers with :class:`ChordSpan` lists. :func:`default_chord_generator` picks
the learned one (:mod:`tools.models.chord_model`: the RLHF policy, else the supervised
model) and falls back to the rule-based templates here when no checkpoint loads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ToolError
from core.settings import get_settings
from tools.music.harmony import ChordSpan, Key
from tools.songwriting.chord_rules import ChordGenerator, RuleBasedChordGenerator

# Genres whose harmony the learned models (one chord a bar, plain sevenths) do not write: two chords a bar,
# ii-V chains, secondary dominants, extended and altered chords. The rule-based templates write them.
RICH_HARMONY_GENRES = ("jazz", "r&b")


def default_chord_generator() -> ChordGenerator:
    """The best generator that loads: the RLHF policy, else the supervised model, else the rule-based fallback;
    jazz and r&b always get the rule-based templates (:data:`RICH_HARMONY_GENRES`).

    Its ``name`` says which, and from which file. A model you trained (in ``<home>/models``) comes
    before the shipped ones, so a retrained checkpoint always takes effect.
    """
    return _generator_for(get_settings().models_dir)


class GenreRoutedGenerator:
    """A :class:`ChordGenerator` that hands :data:`RICH_HARMONY_GENRES` to the rule-based templates and every
    other genre to ``main``."""

    def __init__(self, main: ChordGenerator, rules: ChordGenerator | None = None) -> None:
        self.main, self.rules = main, rules or RuleBasedChordGenerator()
        self.name = f"{main.name}; {self.rules.name} for {', '.join(RICH_HARMONY_GENRES)}"

    def progression(self, *, genre: str, **request: Any) -> list[ChordSpan]:
        """See :meth:`tools.songwriting.chord_rules.ChordGenerator.progression`."""
        chosen = self.rules if genre in RICH_HARMONY_GENRES else self.main
        return chosen.progression(genre=genre, **request)


@functools.lru_cache(maxsize=2)
def _generator_for(models_dir: Path) -> ChordGenerator:
    from tools.models.chord_model import REGISTRY
    from tools.songwriting.learned_chords import cached_generator

    names = ("chords-rlhf", "chords-supervised")
    trained_here = [n for n in names if (models_dir / REGISTRY[n]).is_file()]
    for name in trained_here + [n for n in names if n not in trained_here]:
        try:
            return GenreRoutedGenerator(cached_generator(name, models_dir))
        except ToolError:
            continue
    return RuleBasedChordGenerator()


@dataclass(frozen=True)
class Progression:
    """Chords suggested for one section, with the key, meter and genre they were written for."""

    key: Key
    genre: str
    mood: str | None
    section: str
    beats_per_bar: int
    chords: tuple[ChordSpan, ...]
    generator: str
    notes: tuple[str, ...] = ()

    def bars(self) -> list[list[str]]:
        """Chord symbols bar by bar."""
        count = round(max(s.end for s in self.chords) / self.beats_per_bar)
        return [[s.chord.symbol for s in self.chords if bar * self.beats_per_bar <= s.start < (bar + 1) * self.beats_per_bar]
                for bar in range(count)]

    def summary(self) -> str:
        """The progression as a chord chart line and Roman numerals, for a chat reply."""
        chart = "| " + " | ".join(" ".join(bar) for bar in self.bars()) + " |"
        lines = [f"{self.section.title()} in {self.key} ({self.genre}, {self.beats_per_bar}/4): {chart}",
                 "Roman numerals: " + " ".join(s.roman for s in self.chords)]
        return "\n".join([*lines, *self.notes])

    def to_dict(self) -> dict[str, Any]:
        return {"key": str(self.key), "genre": self.genre, "mood": self.mood, "section": self.section,
                "meter": f"{self.beats_per_bar}/4", "bars": self.bars(),
                "romans": [s.roman for s in self.chords], "generator": self.generator, "notes": list(self.notes)}


def suggest_progression(
    *,
    genre: str | None = None,
    mood: str | None = None,
    key: str | None = None,
    lyrics: str | None = None,
    bars: int = 8,
    section: str = "verse",
    seed: int = 0,
    generator: ChordGenerator | None = None,
) -> Progression:
    """Chords for ``bars`` bars of a section, on their own (the song pipeline calls the generator itself).

    The genre is the closest supported one to ``genre``, else the one the
    lyrics sound like, else pop; the key follows ``key`` or the genre and mood.
    """
    from tools.songwriting.arrangement import (
        arrange,  # arrangement -> score -> harmony; kept out of import time
    )
    from tools.songwriting.genre import guess_genre, resolve_genre

    if not 1 <= bars <= 64:
        raise ToolError(f"{bars} bars is out of range; ask for 1 to 64 bars.")
    notes: list[str] = []
    if genre:
        match = resolve_genre(genre)
        chosen = match.genre
        notes += [match.note] if match.note else []
    elif lyrics and lyrics.strip() and (guess := guess_genre(lyrics)).genre:
        chosen = guess.genre
        notes.append(f"The lyrics sound most like {chosen} ({guess.probability:.0%}).")
    else:
        chosen = "pop"
        if lyrics and lyrics.strip():
            notes.append(f"The lyrics' genre is unclear ({guess.reason}), so the chords are pop.")
    arrangement = arrange(chosen, mood, key=key, seed=seed)
    generator = generator or default_chord_generator()
    lines = [ln.strip() for ln in (lyrics or "").splitlines() if ln.strip()]
    spans = generator.progression(section=section.lower(), bars=bars, key=arrangement.key, genre=chosen, mood=mood,
                                  lyrics=lines, beats_per_bar=arrangement.beats_per_bar, seed=seed)
    return Progression(arrangement.key, chosen, mood, section.lower(), arrangement.beats_per_bar, tuple(spans),
                       generator.name, tuple(notes + list(arrangement.notes)))
