"""Yeh et al. 2021 chord metrics on small progressions with known answers."""

import pytest

from training.metrics import (
    chord_coverage,
    chord_histogram_entropy,
    chord_tonal_distance,
    progression_stats,
    tonal_step,
)


def test_tonal_step_is_small_for_shared_notes_and_large_for_distant_chords():
    assert tonal_step("I", "I") == 0
    assert tonal_step("I", "vi") < tonal_step("I", "V") < tonal_step("I", "bII")   # two, one, no shared notes
    assert tonal_step("i", "iv", "minor") == pytest.approx(tonal_step("I", "IV"))  # the same move in A minor
    assert tonal_step("I", "not-a-chord") is None


def test_chord_tonal_distance_is_the_mean_step_and_the_stats_average_per_progression():
    chords = ["I", "vi", "IV", "V", "I"]
    steps = [tonal_step(a, b) for a, b in zip(chords, chords[1:])]
    assert chord_tonal_distance(chords) == pytest.approx(sum(steps) / len(steps))
    assert chord_coverage(chords) == 4 and chord_histogram_entropy(["I", "I"]) == 0
    stats = progression_stats([[["I", "vi"], ["IV", "V"], ["I"]], [["i"], ["i"]]], ["major", "minor"])
    assert stats.count == 2 and stats.cc == pytest.approx((4 + 1) / 2) and stats.ctd == pytest.approx(
        chord_tonal_distance(chords) / 2)
