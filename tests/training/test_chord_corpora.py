"""Real chord corpora as key-relative numerals: ABC tunes, Bach chorales, Roman-numeral analyses, the cache."""

from pathlib import Path

import pytest

from tests.support import SHARED_DATA
from tools.music.harmony import Key
from training.chord_corpora import (
    _abc_tunes,
    load_corpus,
    parse_abc_tune,
    quality_of,
    roman_of,
)

DATA = SHARED_DATA
needs_data = pytest.mark.skipif(not (DATA / "nottingham").is_dir(), reason="../shared/data is not here")


def test_pitch_sets_become_numerals_in_the_key():
    assert roman_of(7, [7, 11, 2, 5], Key("C", "major")) == "V7"
    assert roman_of(9, [9, 0, 4], Key("C", "major")) == "vi"
    assert roman_of(4, [4, 8, 11], Key("A", "minor")) == "V"          # the raised leading tone
    assert roman_of(10, [10, 2, 5], Key("C", "major")) == "bVII"
    assert quality_of(0, [0, 4, 7, 2]) == "maj"                        # an added ninth is not a dominant ninth
    assert quality_of(0, [0, 4, 10]) == "7"                            # a seventh chord without its fifth
    assert quality_of(0, [0, 4, 7, 5]) == "maj"                        # a passing fourth does not make a sus chord
    assert quality_of(0, [0]) is None and roman_of(0, [0], Key("C", "major")) == "<unk>"


@needs_data
def test_a_real_nottingham_tune_reads_bar_by_bar():
    tune = _abc_tunes(DATA / "nottingham" / "xmas.abc")[0]   # The Boar's Head, in C: | C | G C | F Dm | G C |
    title, bars, mode = parse_abc_tune(tune)
    assert title == "The Boar's Head" and mode == "major"
    assert bars[:4] == [("I",), ("V", "I"), ("IV", "ii"), ("V", "I")]


def test_key_changes_and_slash_chords_in_abc():
    tune = 'X:1\nT:Two Keys\nM:4/4\nL:1/4\nK:G\n"G"GABc|"D7/f+"dcBA|"G"G4|\nK:D\n"D"defg|"A7"agfe|"D"d4|\n'
    title, bars, mode = parse_abc_tune(tune)
    # The second strain is read in D; "D7/f+" is D7 (music21 alone reads it as augmented).
    assert bars == [("I",), ("V7",), ("I",), ("I",), ("V7",), ("I",)]


@needs_data
def test_a_bach_chorale_is_chordified_in_its_key():
    from music21 import corpus

    from training.chord_corpora import chordified_bars

    bars, mode = chordified_bars(corpus.parse("bwv269"))
    assert mode == "major" and len(bars) >= 16
    assert bars[0][0] == "I" and bars[-1][-1] == "I"      # a chorale starts and ends on its tonic
    assert all(1 <= len(b) <= 2 for b in bars)


def test_a_roman_numeral_analysis_is_read_in_its_local_keys():
    from music21 import converter, corpus

    from training.chord_corpora import romantext_bars

    path = Path(corpus.__file__).parent / "bach" / "choraleAnalyses" / "riemenschneider001.rntxt"
    bars, mode = romantext_bars(converter.parse(str(path), format="romantext"))
    assert mode == "major" and bars[:5] == [("I",), ("I", "IV"), ("I", "V"), ("IV", "vii°"), ("V",)]


@needs_data
def test_corpus_is_parsed_once_then_read_from_the_cache(tmp_path):
    data = tmp_path / "data"
    (data / "nottingham").mkdir(parents=True)
    (data / "nottingham" / "xmas.abc").write_text((DATA / "nottingham" / "xmas.abc").read_text(encoding="latin-1"),
                                                  encoding="latin-1")
    first = load_corpus(data, tmp_path / "home", sources=["nottingham"], progress=False)
    cached = list((tmp_path / "home" / "cache").glob("chords-nottingham-*.json"))
    assert len(first) >= 10 and len(cached) == 1
    assert load_corpus(data, tmp_path / "home", sources=["nottingham"], progress=False) == first
