"""The MusicXML lead sheet, read back with music21 (an independent MusicXML reader)."""

from __future__ import annotations

import pytest
from music21 import converter, harmony

from tools.music.harmony import ChordSpan, parse_chord, parse_key
from tools.music.score import Note, Part, Score, SectionMark
from tools.rendering.leadsheet import write_musicxml


def _score(notes, chords, *, key="C", beats_per_bar=4, sections=()):
    spans = [ChordSpan(parse_chord(symbol), "", start, beats) for symbol, start, beats in chords]
    return Score(title="Test Tune", key=parse_key(key), tempo=96, beats_per_bar=beats_per_bar,
                 parts=[Part("melody", 0, list(notes)), Part("bass", 33, [Note(36, 0, 8)])],
                 chords=spans, sections=list(sections))


def _read(score, tmp_path, **kwargs):
    path = write_musicxml(score, tmp_path / "lead.musicxml", **kwargs)
    return converter.parse(str(path)), path.read_text(encoding="utf-8")


def test_notes_lyrics_and_durations_survive_a_round_trip(tmp_path):
    notes = [Note(60, 0, 1, lyric="sing", syllabic="single"), Note(62, 1.5, 0.5, lyric="a", syllabic="single"),
             Note(64, 2, 3.5, lyric="long", syllabic="begin"), Note(65, 5.5, 0.25, lyric="er", syllabic="end"),
             Note(67, 5.75, 2.25, lyric="note", syllabic="single")]
    sheet, text = _read(_score(notes, [("C", 0, 4), ("G", 4, 4)]), tmp_path, composer="Somebody")
    assert sheet.metadata.bestTitle == "Test Tune" and sheet.metadata.composer == "Somebody"
    played = list(sheet.stripTies().recurse().getElementsByClass("Note"))
    assert [(float(n.getOffsetInHierarchy(sheet)), float(n.quarterLength), n.pitch.midi) for n in played] == [
        (n.start, n.duration, n.pitch) for n in notes]
    assert [(n.lyrics[0].text, n.lyrics[0].syllabic) for n in played] == [
        ("sing", "single"), ("a", "single"), ("long", "begin"), ("er", "end"), ("note", "single")]
    assert text.count("<lyric") == 5  # the tied continuation of "long" sings nothing new
    assert len(sheet.parts[0].getElementsByClass("Measure")) == 2


def test_a_note_across_the_barline_is_split_and_tied(tmp_path):
    sheet, _ = _read(_score([Note(67, 3, 2, lyric="over")], [("C", 0, 8)]), tmp_path)
    pieces = list(sheet.recurse().getElementsByClass("Note"))
    assert [(p.measureNumber, float(p.quarterLength), p.tie.type) for p in pieces] == [(1, 1.0, "start"), (2, 1.0, "stop")]


def test_accidentals_follow_the_key_signature_and_the_bar(tmp_path):
    # D major: F# and C# are in the signature; F natural and a second F natural in the same bar.
    notes = [Note(66, 0, 1), Note(65, 1, 1), Note(65, 2, 1), Note(66, 3, 1), Note(65, 4, 4)]
    sheet, text = _read(_score(notes, [("D", 0, 8)], key="D"), tmp_path)
    key = next(sheet.recurse().getElementsByClass("KeySignature"))
    assert key.sharps == 2
    assert [n.pitch.midi for n in sheet.recurse().getElementsByClass("Note")] == [66, 65, 65, 66, 65]
    # natural (F), none (still F natural), sharp (back to F#), natural again in the new bar
    assert text.count("<accidental>natural</accidental>") == 2 and text.count("<accidental>sharp</accidental>") == 1


def test_chord_symbols_with_slash_bass_and_mid_note_changes(tmp_path):
    notes = [Note(64, 0, 4, lyric="hold")]
    sheet, text = _read(_score(notes, [("Am7", 0, 2), ("D/F#", 2, 2)]), tmp_path)
    symbols = list(sheet.recurse().getElementsByClass(harmony.ChordSymbol))
    assert [float(s.getOffsetInHierarchy(sheet)) for s in symbols] == [0.0, 2.0]
    assert {p.name for p in symbols[0].pitches} == {"A", "C", "E", "G"}
    assert symbols[1].bass().name == "F#" and symbols[1].root().name == "D"
    assert "<offset>16</offset>" in text


def test_three_four_sections_and_rests(tmp_path):
    notes = [Note(67, 1, 2, lyric="waltz"), Note(69, 4, 1, lyric="time")]
    score = _score(notes, [("G", 0, 3), ("C", 3, 3)], key="G", beats_per_bar=3,
                   sections=[SectionMark("Verse 1", "verse", 0, 1), SectionMark("Chorus", "chorus", 1, 1)])
    sheet, text = _read(score, tmp_path)
    assert next(sheet.recurse().getElementsByClass("TimeSignature")).ratioString == "3/4"
    measures = sheet.parts[0].getElementsByClass("Measure")
    assert [float(m.duration.quarterLength) for m in measures] == [3.0, 3.0, 3.0]  # bass part sets the end
    assert [float(r.quarterLength) for r in measures[0].notesAndRests if r.isRest] == [1.0]
    assert "<rehearsal>Verse 1</rehearsal>" in text and "<rehearsal>Chorus</rehearsal>" in text


def test_a_time_off_the_grid_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="32nd-note grid"):
        write_musicxml(_score([Note(60, 1 / 3, 1)], [("C", 0, 4)]), tmp_path / "bad.musicxml")


def test_chord_tones_are_spelled_as_in_the_chord(tmp_path):
    # D major: the borrowed bVI (Bb) and bVII (C) chords; their tones read Bb and C, not A# and B#.
    notes = [Note(70, 0, 2), Note(72, 4, 2), Note(70, 6, 2)]
    sheet, _ = _read(_score(notes, [("Bb", 0, 4), ("C", 4, 2), ("D", 6, 2)], key="D"), tmp_path)
    assert [n.pitch.name for n in sheet.recurse().getElementsByClass("Note")] == ["B-", "C", "A#"]


def test_every_chord_quality_reaches_musicxml_with_its_notes(tmp_path):
    from tools.music.chord_symbols import VOCABULARY

    symbols = ["G" + q.symbol for q in VOCABULARY.values()] + ["Am7/G", "Bb7b9/D"]
    sheet, _ = _read(_score([Note(67, 0, 2 * len(symbols))], [(s, 2.0 * i, 2.0) for i, s in enumerate(symbols)]),
                     tmp_path)
    read = list(sheet.recurse().getElementsByClass(harmony.ChordSymbol))
    assert len(read) == len(symbols)
    for symbol, chord_symbol in zip(symbols, read):
        ours, theirs = set(parse_chord(symbol).pitch_classes), {p.pitchClass for p in chord_symbol.pitches}
        if "13" in symbol:  # music21 stacks the eleventh into every thirteenth chord; lead sheets leave it out
            assert ours <= theirs and len(theirs - ours) <= 1, symbol
        else:
            assert ours == theirs, symbol
