"""Chord progressions as key-relative Roman numerals bar by bar: the :class:`ChordSequence` every chord
model trains on, its fixed train/validation split (and the folds of a cross-validation), the synthetic
supplement, and the hash and mix a checkpoint records.

Where real progressions come from: :mod:`training.chord_corpora` (the Nottingham tunes, the Bach
chorales and the music21 Roman-numeral analyses, cached) and :mod:`training.chord_formats`
(Chordonomicon and jazz charts, from a path). Every bar keeps at most two chords and a progression
at most :data:`MAX_SEQUENCE_BARS` bars.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields

from tools.music.harmony import Key

VALIDATION_SHARE = 10          # one sequence in ten, chosen by a hash of its id: the same split everywhere
MAX_SEQUENCE_BARS = 64         # a progression read from a corpus keeps its first 64 bars


@dataclass(frozen=True)
class ChordSequence:
    """One progression: Roman numerals bar by bar (one or two per bar) and what it is conditioned on."""

    source: str
    id: str
    text: str                           # lyrics, or the title where the corpus has no lyrics
    genre: str
    mode: str                           # "major" or "minor": the key the numerals are relative to
    section: str                        # "verse", "chorus"... or "none" where the corpus does not say
    bars: tuple[tuple[str, ...], ...]

    @property
    def fold(self) -> int:
        """Which of :data:`VALIDATION_SHARE` folds the sequence is in, by a hash of source and id."""
        return int(hashlib.sha1(f"{self.source}:{self.id}".encode()).hexdigest(), 16) % VALIDATION_SHARE

    @property
    def split(self) -> str:
        """``"validation"`` for fold 0, a fixed tenth of the sequences, else ``"train"``."""
        return "validation" if self.fold == 0 else "train"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict) -> "ChordSequence":
        return cls(**{**row, "bars": tuple(tuple(b) for b in row["bars"])})


@dataclass(frozen=True)
class _HeldOut(ChordSequence):
    held_out: int = 0

    @property
    def split(self) -> str:
        return "validation" if self.fold == self.held_out else "train"

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "held_out"}


def holding_out(sequences: Iterable[ChordSequence], fold: int) -> list[ChordSequence]:
    """The sequences split so that ``fold`` is the validation split and the other folds are train: one
    round of a cross-validation. Fold 0 is the fixed split the shipped checkpoints use."""
    if not 0 <= fold < VALIDATION_SHARE:
        raise ValueError(f"fold {fold} does not exist; choose 0 to {VALIDATION_SHARE - 1}.")
    names = [f.name for f in dataclass_fields(ChordSequence)]
    return [_HeldOut(**{k: getattr(s, k) for k in names}, held_out=fold) for s in sequences]


# ---------------------------------------------------------------- the synthetic supplement

def synthetic_sequences(per_pool: int = 6, seed: int = 0) -> list[ChordSequence]:
    """Progressions sampled from :class:`tools.songwriting.chord_rules.RuleBasedChordGenerator`'s genre templates.

    For every genre, mode and section pool: ``per_pool`` draws over seeds, lengths (4, 8, 12
    bars; blues mostly 12, its own form) and moods; the text is one of the genre's descriptions.
    Source ``"synthetic"``. Every genre comes at every length the model is told, short ones included:
    a genre seen only at 12 bars would lose its sound in an 8-bar request.
    """
    from tools.music.genres import GENRES, genre_descriptions
    from tools.songwriting.chord_rules import RuleBasedChordGenerator, section_templates

    generator, out = RuleBasedChordGenerator(), []
    descriptions = genre_descriptions()
    for genre in GENRES:
        for mode in ("major", "minor"):
            key = Key("C", "major") if mode == "major" else Key("A", "minor")
            for section in section_templates(genre, mode):
                for i in range(per_pool):
                    s = seed * 1000 + i
                    bars = (4, 8, 12)[i % 3] if genre != "blues" else (12, 8, 12, 4)[i % 4]
                    mood = (None, "sad", "happy")[i % 3]
                    romans = generator.romans(section=section, bars=bars, key=key, genre=genre, mood=mood, seed=s)
                    text = descriptions[genre][i % len(descriptions[genre])]
                    out.append(ChordSequence("synthetic", f"{genre}/{mode}/{section}/{i}/{seed}", text, genre, mode,
                                             section, tuple(tuple(b) for b in romans)))
    return out


# ---------------------------------------------------------------- what a checkpoint records

def data_hash(sequences: Sequence[ChordSequence]) -> str:
    """A short hash of the training data (stored in checkpoints)."""
    digest = hashlib.sha256()
    for s in sequences:
        digest.update(json.dumps(s.to_dict(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def describe_mix(sequences: Sequence[ChordSequence]) -> dict[str, dict[str, int]]:
    """Sequences and bars per source (and split), for reports and checkpoints."""
    mix: dict[str, dict[str, int]] = {}
    for s in sequences:
        row = mix.setdefault(s.source, {"train": 0, "validation": 0, "bars": 0})
        row[s.split] += 1
        row["bars"] += len(s.bars)
    return mix

