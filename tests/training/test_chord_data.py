"""Chord corpora as key-relative numerals: real ABC tunes, Bach chorales, Roman-numeral analyses, public formats."""

import csv
from pathlib import Path
from urllib.parse import quote

import pytest

from core.errors import ToolError
from tests.support import SHARED_DATA
from tools.music.harmony import Key
from training.chord_data import (
    VALIDATION_SHARE,
    ChordSequence,
    _abc_tunes,
    _ireal_unscramble,
    holding_out,
    load_chordonomicon,
    load_corpus,
    load_jazz_text,
    parse_abc_tune,
    quality_of,
    roman_of,
    synthetic_sequences,
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

    from training.chord_data import chordified_bars

    bars, mode = chordified_bars(corpus.parse("bwv269"))
    assert mode == "major" and len(bars) >= 16
    assert bars[0][0] == "I" and bars[-1][-1] == "I"      # a chorale starts and ends on its tonic
    assert all(1 <= len(b) <= 2 for b in bars)


def test_a_roman_numeral_analysis_is_read_in_its_local_keys():
    from music21 import converter, corpus

    from training.chord_data import romantext_bars

    path = Path(corpus.__file__).parent / "bach" / "choraleAnalyses" / "riemenschneider001.rntxt"
    bars, mode = romantext_bars(converter.parse(str(path), format="romantext"))
    assert mode == "major" and bars[:5] == [("I",), ("I", "IV"), ("I", "V"), ("IV", "vii°"), ("V",)]


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


def test_chordonomicon_csv_is_read_per_section(tmp_path):
    path = tmp_path / "chordonomicon.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "chords", "main_genre"])
        w.writerow([1, "<intro_1> C G <verse_1> C G Amin F C G F C <chorus_1> F G Emin Amin", "pop"])
        w.writerow([2, "<verse_1> Fsmin Bmin Cs7 Fsmin Fsmin D Cs7 Fsmin", "rap"])
    seqs = load_chordonomicon(path)
    verse = next(s for s in seqs if s.id == "1#1")
    assert verse.section == "verse" and verse.genre == "pop" and verse.mode == "major"
    assert [b[0] for b in verse.bars] == ["I", "V", "vi", "IV", "I", "V", "IV", "I"]
    rap = next(s for s in seqs if s.id.startswith("2#"))
    assert rap.genre == "hip hop" and rap.bars[0] == ("i",) and rap.mode == "minor"


def test_bad_files_are_one_sentence_errors(tmp_path):
    with pytest.raises(ToolError, match="does not exist"):
        load_chordonomicon(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,progression\n1,C G\n")
    with pytest.raises(ToolError, match="no column 'chords'"):
        load_chordonomicon(bad)


def test_jazz_charts_plain_and_ireal(tmp_path):
    plain = tmp_path / "standards.txt"
    plain.write_text("Title: Blue Turn\nKey: C\n| Dm7 G7 | Cmaj7 | C^7 | x |\n\nTitle: Minor Thing\n| Am7 | Bh7 E7 | Am7 |\n")
    seqs = load_jazz_text(plain)
    assert seqs[0].text == "Blue Turn" and seqs[0].bars == (("ii7", "V7"), ("Imaj7",), ("Imaj7",), ("Imaj7",))
    assert seqs[1].mode == "minor" and seqs[1].bars[1] == ("iiø7", "V7")
    chart = "{*AT44D-7 G7 |C^7 |D-7 G7 |C^7 }" * 3
    scrambled = "1r34LbKcu7" + _ireal_unscramble(chart)       # the shuffle is its own inverse
    link = tmp_path / "playlist.html"
    link.write_text(f'<a href="irealb://Tune%20One=Composer==Medium%20Swing=C=={quote(scrambled)}=0=0">x</a>')
    tune = load_jazz_text(link)[0]
    assert tune.text == "Tune One" and tune.bars[:2] == (("ii7", "V7"), ("Imaj7",))


def test_synthetic_supplement_is_labelled_and_covers_every_genre():
    seqs = synthetic_sequences(per_pool=1)
    assert {s.source for s in seqs} == {"synthetic"}
    assert {s.genre for s in seqs} >= {"jazz", "blues", "metal", "hip hop", "r&b", "electronic"}
    jazz = [c for s in seqs if s.genre == "jazz" for b in s.bars for c in b]
    assert sum("7" in c for c in jazz) / len(jazz) > 0.9


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
