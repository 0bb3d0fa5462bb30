"""Chord-progression metrics of Yeh et al. 2021 ("Automatic melody harmonization with triad chords").

- CHE, chord histogram entropy: entropy (natural log) of the chord-label histogram of a progression.
- CC, chord coverage: how many distinct chord labels a progression uses.
- CTD, chord tonal distance: mean Euclidean distance between the 6-D tonal centroids
  (Harte et al. 2006) of adjacent chords.

Each is computed per progression and averaged; compare a model's values with those of
the real progressions (closer is better, not higher). Chords are key-relative Roman
numerals, played in C major / A minor to get their pitch classes.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tools.music.harmony import Key, roman_to_chord

_C_MAJOR, _A_MINOR = Key("C", "major"), Key("A", "minor")
_l = np.arange(12)
# Harte et al. 2006: circle of fifths, minor thirds and major thirds, radii 1, 1, 0.5.
_PHI = np.stack([np.sin(_l * 7 * np.pi / 6), np.cos(_l * 7 * np.pi / 6),
                 np.sin(_l * 3 * np.pi / 2), np.cos(_l * 3 * np.pi / 2),
                 0.5 * np.sin(_l * 2 * np.pi / 3), 0.5 * np.cos(_l * 2 * np.pi / 3)])


@dataclass(frozen=True)
class ProgressionStats:
    """Mean CHE, CC and CTD over a set of progressions, and their share of seventh chords."""

    che: float
    cc: float
    ctd: float
    sevenths: float
    count: int


def tonal_centroid(pitch_classes: Sequence[int]) -> np.ndarray:
    """The 6-D tonal centroid of a chord's pitch classes."""
    chroma = np.zeros(12)
    chroma[list(pitch_classes)] = 1.0
    return _PHI @ (chroma / max(chroma.sum(), 1.0))


@functools.lru_cache(maxsize=4096)
def _pitch_classes(numeral: str, mode: str) -> tuple[int, ...] | None:
    try:
        return roman_to_chord(numeral, _C_MAJOR if mode == "major" else _A_MINOR).pitch_classes
    except Exception:  # noqa: BLE001 - an unplayable label counts in CHE/CC, not in CTD
        return None


def chord_histogram_entropy(chords: Sequence[str]) -> float:
    counts = Counter(chords)
    total = sum(counts.values())
    return -sum(n / total * math.log(n / total) for n in counts.values()) if total else 0.0


def chord_coverage(chords: Sequence[str]) -> int:
    return len(set(chords))


def chord_tonal_distance(chords: Sequence[str], mode: str = "major") -> float:
    centroids = [c for c in (_pitch_classes(ch, mode) for ch in chords) if c is not None]
    if len(centroids) < 2:
        return 0.0
    points = [tonal_centroid(pcs) for pcs in centroids]
    return float(np.mean([np.linalg.norm(a - b) for a, b in zip(points, points[1:])]))


def tonal_step(a: str, b: str, mode: str = "major") -> float | None:
    """Distance between the tonal centroids of two chords (one move of CTD); None when either is unplayable."""
    first, second = _pitch_classes(a, mode), _pitch_classes(b, mode)
    if first is None or second is None:
        return None
    return float(np.linalg.norm(tonal_centroid(first) - tonal_centroid(second)))


def is_seventh(numeral: str) -> bool:
    """Sevenths and ninths (V7, ii7, Imaj7, viiø7, V9)."""
    return any(mark in numeral for mark in ("7", "9"))


def progression_stats(progressions: Sequence[Sequence[Sequence[str]]], modes: Sequence[str]) -> ProgressionStats:
    """CHE, CC, CTD (means over progressions given as bars of numerals) and the share of sevenths."""
    che, cc, ctd, sevenths, chords_total = [], [], [], 0, 0
    for bars, mode in zip(progressions, modes):
        chords = [ch for bar in bars for ch in bar]
        if not chords:
            continue
        che.append(chord_histogram_entropy(chords))
        cc.append(chord_coverage(chords))
        ctd.append(chord_tonal_distance(chords, mode))
        sevenths += sum(is_seventh(ch) for ch in chords)
        chords_total += len(chords)
    if not che:
        return ProgressionStats(0.0, 0.0, 0.0, 0.0, 0)
    return ProgressionStats(float(np.mean(che)), float(np.mean(cc)), float(np.mean(ctd)),
                            sevenths / max(chords_total, 1), len(che))


def distance_to(stats: ProgressionStats, reference: ProgressionStats) -> float:
    """Sum of relative gaps in CHE, CC and CTD to a reference (0 = the same statistics)."""
    return sum(abs(a - b) / max(abs(b), 1e-9) for a, b in
               ((stats.che, reference.che), (stats.cc, reference.cc), (stats.ctd, reference.ctd)))


@dataclass(frozen=True)
class ClassificationScores:
    """Accuracy and macro-averaged F1 of predicted labels."""

    accuracy: float
    macro_f1: float
    count: int


def classification_scores(truth: Sequence[str], predicted: Sequence[str]) -> ClassificationScores:
    """Accuracy and macro-F1 (the mean F1 over the labels that occur in ``truth``)."""
    if not truth:
        return ClassificationScores(float("nan"), float("nan"), 0)
    f1s = []
    for label in sorted(set(truth)):
        tp = sum(t == label and p == label for t, p in zip(truth, predicted))
        fp = sum(t != label and p == label for t, p in zip(truth, predicted))
        fn = sum(t == label and p != label for t, p in zip(truth, predicted))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    accuracy = sum(t == p for t, p in zip(truth, predicted)) / len(truth)
    return ClassificationScores(accuracy, float(np.mean(f1s)), len(truth))
