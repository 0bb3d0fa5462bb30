"""The one chord-symbol reader: lead-sheet spellings parse to the right notes, and those notes name the chord
again with its canonical symbol (parse -> voicing -> name)."""

from __future__ import annotations

import pytest

from core.errors import ToolError
from tools.music.chord_symbols import VOCABULARY, canonical_suffix, is_no_chord
from tools.music.harmony import (
    Key,
    chord_from_voicing,
    chord_to_roman,
    parse_chord,
    roman_to_chord,
)

# (as written on a lead sheet, canonical symbol): ASCII and unicode spellings from real charts.
LEAD_SHEET = [
    ("C", "C"), ("Cm", "Cm"), ("C-", "Cm"), ("Cmin", "Cm"), ("G7", "G7"), ("Fmaj7", "Fmaj7"), ("FM7", "Fmaj7"),
    ("FΔ", "Fmaj7"), ("FΔ7", "Fmaj7"), ("Dm7", "Dm7"), ("D-7", "Dm7"), ("Dmin7", "Dm7"), ("Bm7b5", "Bm7b5"),
    ("Bø", "Bm7b5"), ("Bø7", "Bm7b5"), ("Bm7-5", "Bm7b5"), ("Bdim", "Bdim"), ("B°", "Bdim"), ("Bo7", "Bdim7"),
    ("B°7", "Bdim7"), ("Bdim7", "Bdim7"), ("Caug", "Caug"), ("C+", "Caug"), ("G7+", "G7#5"), ("G+7", "G7#5"),
    ("Gaug7", "G7#5"), ("G7♯5", "G7#5"), ("C6", "C6"), ("Cm6", "Cm6"), ("C69", "C69"), ("C6/9", "C69"),
    ("Cm69", "Cm69"), ("G9", "G9"), ("Dm9", "Dm9"), ("Cmaj9", "Cmaj9"), ("CΔ9", "Cmaj9"), ("G11", "G11"),
    ("Dm11", "Dm11"), ("G13", "G13"), ("Dm13", "Dm13"), ("Cmaj13", "Cmaj13"), ("G7b9", "G7b9"),
    ("G7♭9", "G7b9"), ("G7(b9)", "G7b9"), ("E7#9", "E7#9"), ("E7(♯9)", "E7#9"), ("D7#11", "D7#11"),
    ("D7b5", "D7b5"), ("D7-5", "D7b5"), ("G7#5#9", "G7#5#9"), ("G7#9#5", "G7#5#9"), ("G7#5b9", "G7#5b9"),
    ("G13b9", "G13b9"), ("G13#11", "G13#11"), ("G9#11", "G9#11"), ("Fmaj7#11", "Fmaj7#11"),
    ("FΔ7♯11", "Fmaj7#11"), ("Dsus2", "Dsus2"), ("Dsus4", "Dsus4"), ("Dsus", "Dsus4"), ("G7sus4", "G7sus4"),
    ("G7sus", "G7sus4"), ("G9sus4", "G9sus4"), ("G13sus4", "G13sus4"), ("G7sus4b9", "G7b9sus4"),
    ("Cadd9", "Cadd9"), ("C2", "Cadd9"), ("Cadd11", "Cadd11"), ("Cm(add9)", "Cmadd9"), ("E5", "E5"),
    ("Cm(maj7)", "Cm(maj7)"), ("CmMaj7", "Cm(maj7)"), ("C-Δ7", "Cm(maj7)"), ("G7alt", "G7alt"),
    ("C/E", "C/E"), ("Am7/G", "Am7/G"), ("G7b9/B", "G7b9/B"), ("D/F#", "D/F#"), ("C/D", "C/D"),
    ("F♯m7", "F#m7"), ("E♭maj7", "Ebmaj7"), ("Db13", "Db13"), ("Ab7#9", "Ab7#9"), ("bb7", "Bb7"),
]


@pytest.mark.parametrize("written, canonical", LEAD_SHEET)
def test_lead_sheet_symbols_round_trip_through_their_notes(written, canonical):
    chord = parse_chord(written)
    assert chord.symbol == canonical
    named = chord_from_voicing(chord.root, chord.voicing())
    assert named == chord and named.symbol == canonical
    assert parse_chord(canonical) == chord


def test_there_are_forty_and_more_distinct_qualities_in_the_round_trip():
    assert len({parse_chord(w).quality for w, _ in LEAD_SHEET}) >= 40


def test_extended_chords_keep_their_roman_numerals_and_simplify_for_the_models():
    key = Key("C", "major")
    for symbol, numeral in [("G7b9", "V7b9"), ("Dm9", "ii9"), ("Bm7b5", "viiø7"), ("Fmaj7#11", "IVmaj7#11"),
                            ("G13sus4", "V13sus4"), ("Am11", "vi11"), ("C69", "I69")]:
        chord = parse_chord(symbol)
        assert chord_to_roman(chord, key) == numeral
        assert roman_to_chord(numeral, key) == chord
        simple = chord.simplified()
        assert simple.quality in ("7", "m7", "m7b5", "maj7", "sus4", "6") and simple.root == chord.root


def test_no_chord_is_recognised_and_is_not_a_chord():
    assert is_no_chord("N.C.") and is_no_chord("NC") and not is_no_chord("Cm")
    with pytest.raises(ToolError, match="no chord"):
        parse_chord("N.C.")


@pytest.mark.parametrize("text", ["H7", "Cxyz", "", "C7b9b9", "C/H", "Cmaj7/", "7", "C13b13#"])
def test_unreadable_symbols_are_one_clear_sentence(text):
    with pytest.raises(ToolError) as error:
        parse_chord(text)
    message = str(error.value)
    assert message.count(". ") == 0 and message.endswith(".") and "chord" in message


def test_every_quality_in_the_vocabulary_is_read_back_from_its_own_suffix():
    for name, spec in VOCABULARY.items():
        assert canonical_suffix(spec.symbol) == spec.symbol
        assert parse_chord("E" + spec.symbol).quality == name
