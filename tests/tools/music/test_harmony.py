"""Keys, chord symbols and Roman numerals in every key, and the chord generators that speak them."""

import pytest

from core.errors import ToolError
from tools.music.harmony import (
    QUALITIES,
    Chord,
    Key,
    Numeral,
    accidental_name,
    chord_to_roman,
    common_name,
    key_for_pc,
    parse_chord,
    parse_chords,
    parse_key,
    parse_numeral,
    roman_to_chord,
)
from tools.songwriting.arrangement import STYLES
from tools.songwriting.chord_rules import RuleBasedChordGenerator
from tools.songwriting.chords import suggest_progression


@pytest.mark.parametrize("text, tonic, mode", [
    ("A minor", "A", "minor"), ("F#", "F#", "major"), ("Bbm", "Bb", "minor"), ("eb major", "Eb", "major"),
    ("c# min", "C#", "minor"), ("G", "G", "major"), ("Dm", "D", "minor"), ("F♯ minor", "F#", "minor"),
    ("A#", "Bb", "major"), ("Db minor", "C#", "minor"),  # beyond seven accidentals: the enharmonic key
])
def test_parse_key(text, tonic, mode):
    assert parse_key(text) == Key(tonic, mode)


@pytest.mark.parametrize("text", ["H", "X minor", "", "C dorian", "7"])
def test_unknown_key_is_a_tool_error(text):
    with pytest.raises(ToolError, match="key"):
        parse_key(text)


def test_scales_are_spelled_with_one_letter_each():
    assert parse_key("F#").scale_names() == ("F#", "G#", "A#", "B", "C#", "D#", "E#")
    assert parse_key("Bbm").scale_names() == ("Bb", "C", "Db", "Eb", "F", "Gb", "Ab")
    assert parse_key("Eb").fifths == -3 and parse_key("E minor").fifths == 1
    assert parse_key("A minor").relative == Key("C", "major")


@pytest.mark.parametrize("key, numerals, symbols", [
    ("C", "I ii iii IV V vi vii° V7 Imaj7 bVII bVI #iv°", "C Dm Em F G Am Bdim G7 Cmaj7 Bb Ab F#dim"),
    ("A minor", "i iv V7 VI VII III bII #vii°7", "Am Dm E7 F G C Bb G#dim7"),
    ("F", "IV ii7 V7/V", "Bb Gm7 G7"),
    ("Eb", "I vi iiø7 V5", "Eb Cm Fm7b5 Bb5"),
    ("F#", "vii° iii", "E#dim A#m"),
])
def test_roman_numerals_name_the_right_chords(key, numerals, symbols):
    k = parse_key(key)
    assert [roman_to_chord(n, k).symbol for n in numerals.split()] == symbols.split()


@pytest.mark.parametrize("key", ["C", "G", "F#", "Db", "A minor", "Bbm", "G#m", "Eb minor"])
def test_chord_to_roman_inverts_roman_to_chord_for_every_root_and_quality(key):
    k = parse_key(key)
    for root in range(12):
        for quality in QUALITIES:
            chord = Chord(common_name(root), quality)
            numeral = chord_to_roman(chord, k)
            back = roman_to_chord(numeral, k)
            assert back.quality == quality and back.pitch_classes == chord.pitch_classes, (chord, numeral, back)


def test_the_same_numerals_transpose_to_any_key():
    progression = "vi IV I V".split()
    in_c = [roman_to_chord(n, parse_key("C")).root_pc for n in progression]
    in_e = [roman_to_chord(n, parse_key("E")).root_pc for n in progression]
    assert [(b - a) % 12 for a, b in zip(in_c, in_e)] == [4, 4, 4, 4]


def test_chord_symbols_parse_to_pitch_classes():
    assert parse_chord("C").pitch_classes == (0, 4, 7)
    assert parse_chord("F#m7").pitch_classes == (6, 9, 1, 4)
    assert parse_chord("Bb7").pitch_classes == (10, 2, 5, 8)
    assert parse_chord("Em/B").symbol == "Em/B"
    assert [c.symbol for c in parse_chords("C | G, Am  F")] == ["C", "G", "Am", "F"]


@pytest.mark.parametrize("text", ["H7", "Cxyz", "", "C G Q"])
def test_bad_chord_symbols_are_tool_errors(text):
    with pytest.raises(ToolError):
        parse_chords(text)


def test_bad_numeral_is_a_tool_error():
    with pytest.raises(ToolError, match="VIII"):
        roman_to_chord("VIII", parse_key("C"))


def test_numerals_split_into_accidental_degree_case_and_suffix():
    assert parse_numeral("bVII7") == Numeral("b", 6, False, "7")
    assert parse_numeral("vii°").roman == "VII" and parse_numeral("vii°").minor
    assert parse_numeral("V7/V").roman == "V" and parse_numeral("V7/V").suffix == "7/V"
    with pytest.raises(ToolError, match="not a Roman numeral"):
        parse_numeral("<unk>")


def test_every_key_has_one_conventional_name():
    majors = [str(key_for_pc(pc, "major")) for pc in range(12)]
    minors = [str(key_for_pc(pc, "minor")) for pc in range(12)]
    assert majors == ["C major", "Db major", "D major", "Eb major", "E major", "F major", "F# major", "G major",
                      "Ab major", "A major", "Bb major", "B major"]
    assert minors == ["C minor", "C# minor", "D minor", "Eb minor", "E minor", "F minor", "F# minor", "G minor",
                      "G# minor", "A minor", "Bb minor", "B minor"]
    assert [accidental_name(pc, sharp) for pc in (6, 7) for sharp in (True, False)] == ["F#", "Gb", "G", "G"]


# ---------------------------------------------------------------- chord generators


@pytest.mark.parametrize("genre", sorted(STYLES))
@pytest.mark.parametrize("key", ["C", "A minor"])
def test_rule_based_progressions_fill_the_section_and_end_home(genre, key):
    k = parse_key(key)
    spans = RuleBasedChordGenerator().progression(section="chorus", bars=6, key=k, genre=genre, cadence=True, seed=3)
    assert spans[0].start == 0 and spans[-1].end == 24
    assert all(a.end == b.start for a, b in zip(spans, spans[1:]))
    assert all(roman_to_chord(s.roman, k) == s.chord for s in spans)
    assert spans[-1].chord.root_pc == k.tonic_pc


def test_rule_based_progressions_are_seeded_and_verses_share_one_template():
    gen, k = RuleBasedChordGenerator(), parse_key("G")
    first = gen.progression(section="verse", bars=8, key=k, genre="pop", seed=1)
    assert first == gen.progression(section="verse", bars=8, key=k, genre="pop", seed=1)
    shorter = gen.progression(section="verse", bars=4, key=k, genre="pop", seed=1)
    assert [s.roman for s in shorter] == [s.roman for s in first[:4]]
    seeds = {tuple(s.roman for s in gen.progression(section="verse", bars=4, key=k, genre="pop", seed=n)) for n in range(12)}
    assert len(seeds) > 1


def test_three_four_bars_hold_one_chord_each():
    spans = RuleBasedChordGenerator().progression(section="chorus", bars=4, key=parse_key("C"), genre="jazz",
                                                  beats_per_bar=3, seed=1)
    assert [s.beats for s in spans] == [3.0] * 4


def test_suggest_progression_resolves_genre_and_key():
    prog = suggest_progression(genre="rap", key="Bbm", bars=4, section="chorus")
    assert prog.genre == "hip hop" and prog.key == parse_key("Bbm") and len(prog.bars()) == 4
    assert any("rap" in n for n in prog.notes) and "Bbm" in prog.summary()
    assert prog.to_dict()["romans"] == [s.roman for s in prog.chords]
    with pytest.raises(ToolError, match="bars"):
        suggest_progression(bars=0)
    with pytest.raises(ToolError, match="key"):
        suggest_progression(key="Q")


@pytest.mark.parametrize("symbol, names", [
    ("Bb", ["Bb", "D", "F"]), ("Bdim7", ["B", "D", "F", "Ab"]), ("Caug", ["C", "E", "G#"]),
    ("F#m7b5", ["F#", "A", "C", "E"]), ("D/F#", ["D", "F#", "A"]), ("Ebm6", ["Eb", "Gb", "Bb", "C"]),
])
def test_chord_tones_are_spelled_from_the_root(symbol, names):
    chord = parse_chord(symbol)
    assert sorted(chord.tone_names().values()) == sorted(names)
    assert set(chord.tone_names()) == set(chord.pitch_classes)
