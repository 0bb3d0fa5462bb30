"""Chord sequences: the fixed split, the folds of a cross-validation, and the labelled synthetic supplement."""

import pytest

from training.chord_data import (
    VALIDATION_SHARE,
    ChordSequence,
    holding_out,
    synthetic_sequences,
)


def test_the_split_is_fixed_and_about_a_tenth():
    seqs = [ChordSequence("nottingham", f"t#{i}", "", "folk", "major", "none", (("I",),)) for i in range(1000)]
    first = [s.split for s in seqs]
    assert first == [s.split for s in seqs]
    assert 60 <= first.count("validation") <= 140


def test_cross_validation_holds_out_each_sequence_once():
    seqs = [ChordSequence("nottingham", f"t#{i}", "", "folk", "major", "none", (("I",),)) for i in range(300)]
    rounds = [holding_out(seqs, fold) for fold in range(VALIDATION_SHARE)]
    assert [s.split for s in rounds[0]] == [s.split for s in seqs]  # fold 0 is the fixed split
    held = [sum(r[i].split == "validation" for r in rounds) for i in range(len(seqs))]
    assert held == [1] * len(seqs)
    assert rounds[3][0].to_dict() == seqs[0].to_dict()
    with pytest.raises(ValueError, match="fold 10 does not exist"):
        holding_out(seqs, VALIDATION_SHARE)


def test_synthetic_supplement_is_labelled_and_covers_every_genre():
    seqs = synthetic_sequences(per_pool=1)
    assert {s.source for s in seqs} == {"synthetic"}
    assert {s.genre for s in seqs} >= {"jazz", "blues", "metal", "hip hop", "r&b", "electronic"}
    jazz = [c for s in seqs if s.genre == "jazz" for b in s.bars for c in b]
    assert sum("7" in c for c in jazz) / len(jazz) > 0.9
