"""The chords bench's statistics: the paired bootstrap that says whether RLHF moved a metric away from the real data."""

from __future__ import annotations

import random
import sys

import pytest

from tests.support import REPO
from training.metrics import ProgressionStats

sys.path.insert(0, str(REPO / "bench"))

from chords_cv import parse_folds, verdict  # noqa: E402
from chords_eval import paired_difference, paired_gap_bootstrap, per_progression  # noqa: E402


def test_per_progression_averages_each_ones_samples():
    progs = [[["I"], ["V"]], [["I"], ["I", "IV"]], [["i"], ["iv"], ["V"]], [["i"], ["i"]]]
    rows = per_progression(progs, ["major", "minor"], samples=2)
    single = per_progression(progs, ["major", "major", "minor", "minor"])
    assert len(rows) == 2
    for j in range(3):
        assert abs(rows[0][j] - (single[0][j] + single[1][j]) / 2) < 1e-12
        assert abs(rows[1][j] - (single[2][j] + single[3][j]) / 2) < 1e-12


def test_paired_bootstrap_tells_closer_from_further_and_noise_from_both():
    rng = random.Random(0)
    real = [tuple(rng.gauss(1.0, 0.3) for _ in range(3)) for _ in range(200)]
    base = [tuple(x + 0.05 for x in row) for row in real]           # off by 0.05 everywhere
    closer = [tuple(x + 0.01 for x in row) for row in real]
    further = [tuple(x + 0.2 for x in row) for row in real]
    assert all(share == 1.0 and hi < 0 for share, _, hi in paired_gap_bootstrap(real, base, closer).values())
    assert all(share == 0.0 and lo > 0 for share, lo, _ in paired_gap_bootstrap(real, base, further).values())
    # Two models that wrote the same thing, each with its own unrelated noise: neither is reliably closer.
    a = [tuple(x + rng.gauss(0, 0.3) for x in row) for row in real]
    b = [tuple(x + rng.gauss(0, 0.3) for x in row) for row in real]
    for share, lo, hi in paired_gap_bootstrap(real, a, b).values():
        assert 0.02 < share < 0.98 and lo < 0 < hi


def test_paired_difference_is_the_mean_with_an_interval_around_it():
    rng = random.Random(1)
    base = [rng.gauss(2.0, 0.5) for _ in range(400)]
    other = [b + 0.1 + rng.gauss(0, 0.2) for b in base]
    mean, lo, hi = paired_difference(base, other)
    assert abs(mean - sum(o - b for b, o in zip(base, other)) / len(base)) < 1e-12
    assert 0 < lo < mean < hi < 0.2


def test_cross_validation_reads_folds_and_judges_the_target():
    assert parse_folds("0-9") == list(range(10)) and parse_folds("0,3-4") == [0, 3, 4]
    with pytest.raises(SystemExit, match="give folds from 0 to 9"):
        parse_folds("7-10")
    real = ProgressionStats(1.6, 7.5, 0.95, 0.0, 1)
    sup = ProgressionStats(1.5, 7.0, 0.96, 0.0, 1)
    closer = ProgressionStats(1.55, 7.3, 0.95, 0.0, 1)
    assert verdict({"real": real, "supervised": sup, "RLHF": closer}, {"supervised": 1.0, "RLHF": 1.1}) == "met"
    further = ProgressionStats(1.55, 7.3, 0.98, 0.0, 1)
    assert (verdict({"real": real, "supervised": sup, "RLHF": further}, {"supervised": 1.0, "RLHF": 0.9})
            == "missed: CTD, reward")
