"""Jazz and r&b harmony from the default generator: two chords a bar, ii-V's, secondary dominants, sevenths."""

from __future__ import annotations

import pytest

from tools.music.harmony import Key
from tools.songwriting.chord_rules import RuleBasedChordGenerator
from tools.songwriting.chords import (
    RICH_HARMONY_GENRES,
    GenreRoutedGenerator,
    default_chord_generator,
)

KEYS = (Key("F", "major"), Key("D", "minor"))


def _progressions(generator, genre):
    for key in KEYS:
        for section in ("verse", "chorus", "bridge"):
            for seed in range(6):
                yield key, generator.progression(section=section, bars=8, key=key, genre=genre, seed=seed)


def _is_dominant(chord):
    pcs = chord.pitch_classes
    return (chord.root_pc + 4) % 12 in pcs and (chord.root_pc + 10) % 12 in pcs


def _is_minor_seventh(chord):
    pcs = chord.pitch_classes
    return (chord.root_pc + 3) % 12 in pcs and (chord.root_pc + 4) % 12 not in pcs and len(pcs) >= 4


@pytest.mark.parametrize("genre", RICH_HARMONY_GENRES)
def test_the_default_generator_writes_the_idioms(genre):
    generator = default_chord_generator()
    two_chord_bars = two_fives = secondary = chords = 0
    for key, spans in _progressions(generator, genre):
        assert spans[0].start == 0 and spans[-1].end == 32 and all(a.end == b.start for a, b in zip(spans, spans[1:]))
        starts = [s.start for s in spans]
        two_chord_bars += sum(starts.count(bar * 4.0) and starts.count(bar * 4.0 + 2.0) for bar in range(8))
        for a, b in zip(spans, spans[1:]):
            two_fives += _is_minor_seventh(a.chord) and _is_dominant(b.chord) and (b.chord.root_pc - a.chord.root_pc) % 12 == 5
        # A dominant seventh on a root other than the key's fifth degree is an applied (secondary) dominant.
        secondary += sum(_is_dominant(s.chord) and (s.chord.root_pc - key.tonic_pc) % 12 != 7 for s in spans)
        assert all(len(s.chord.pitch_classes) >= 4 for s in spans), [s.chord.symbol for s in spans]
        chords += len(spans)
    assert two_chord_bars >= 0.15 * len(KEYS) * 3 * 6 * 8
    assert two_fives >= 0.1 * chords and secondary > 0


def test_a_jazz_ending_is_a_ii_v_in_one_bar_then_home():
    for key, numerals in ((Key("C", "major"), ["ii7", "V7", "Imaj7"]), (Key("A", "minor"), ["iiø7", "V7b9", "i7"])):
        spans = RuleBasedChordGenerator().progression(section="chorus", bars=4, key=key, genre="jazz", cadence=True)
        assert [s.roman for s in spans[-3:]] == numerals
        assert [s.beats for s in spans[-3:]] == [2.0, 2.0, 4.0]
        assert spans[-1].chord.root_pc == key.tonic_pc


def test_other_genres_still_get_the_main_generator():
    generator = default_chord_generator()
    assert isinstance(generator, GenreRoutedGenerator) and "chords-rlhf" in generator.name
    request = dict(section="verse", bars=8, key=Key("G", "major"), seed=2)
    assert generator.progression(genre="folk", **request) == generator.main.progression(genre="folk", **request)
    assert generator.progression(genre="jazz", **request) == RuleBasedChordGenerator().progression(genre="jazz", **request)
