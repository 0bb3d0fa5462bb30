"""Chord progressions from public formats: Chordonomicon's CSV and jazz charts, and their one-sentence errors."""

import csv
from urllib.parse import quote

import pytest

from core.errors import ToolError
from training.chord_formats import _ireal_unscramble, load_chordonomicon, load_jazz_text


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
