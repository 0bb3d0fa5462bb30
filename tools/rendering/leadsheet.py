"""The lead sheet: a score's melody, lyrics, chord symbols and section marks as MusicXML 4.0.

Written directly with ElementTree rather than through music21's stream model:
music21's ``makeNotation`` and chord-symbol realisation took longer than
rendering the audio of a song, and a lead sheet needs none of it. Notes that
cross a barline are split and tied, durations are spelled as (dotted) note
values, accidentals follow the key signature and what came before in the bar.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from tools.music.harmony import Chord, Key, quality
from tools.music.score import Note, Score

DIVISIONS = 8  # per quarter note: a 32nd note is the shortest value written
_TYPES = [(32, "whole", 0), (24, "half", 1), (16, "half", 0), (12, "quarter", 1), (8, "quarter", 0),
          (6, "eighth", 1), (4, "eighth", 0), (3, "16th", 1), (2, "16th", 0), (1, "32nd", 0)]
_ACCIDENTALS = {-2: "flat-flat", -1: "flat", 0: "natural", 1: "sharp", 2: "double-sharp"}
_SHARP_ORDER, _FLAT_ORDER = "FCGDAEB", "BEADGCF"


def _units(beats: float, what: str) -> int:
    """Beats as divisions; a time off the 32nd-note grid is a bug in whoever built the score."""
    units = round(beats * DIVISIONS)
    if abs(units - beats * DIVISIONS) > 1e-6:
        raise ValueError(f"{what} at {beats} beats is not on a 32nd-note grid; the lead sheet cannot spell it.")
    return units


def _values(units: int) -> list[tuple[int, str, int]]:
    """Spell a length as tied note values, longest first: (divisions, type, dots)."""
    out = []
    while units > 0:
        value = next(v for v in _TYPES if v[0] <= units)
        out.append(value)
        units -= value[0]
    return out


def _spelling(key: Key, pitch: int, chord: Chord | None = None) -> tuple[str, int, int]:
    """(step, alter, octave) of a MIDI pitch (B#3 is C4's pitch): a tone of the chord sounding is spelled as
    in the chord (Bb over Bb in D major), anything else as the key would spell it."""
    name = chord.tone_names().get(pitch % 12) if chord is not None else None
    name = name or key.name_of(pitch % 12)
    alter = name.count("#") - name.count("b")
    return name[0], alter, (pitch - alter) // 12 - 1


def _signature(key: Key) -> dict[str, int]:
    """Alteration of each letter under the key signature."""
    fifths = key.fifths
    letters = _SHARP_ORDER[:fifths] if fifths > 0 else _FLAT_ORDER[:-fifths]
    return {letter: (1 if fifths > 0 else -1) for letter in letters}


def _sub(parent: ET.Element, tag: str, text: object = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = str(text)
    return element


def _harmony(chord: Chord, offset: int) -> ET.Element:
    element = ET.Element("harmony")
    root = _sub(element, "root")
    _sub(root, "root-step", chord.root[0])
    if len(chord.root) > 1:
        _sub(root, "root-alter", chord.root.count("#") - chord.root.count("b"))
    spec = quality(chord.quality)
    _sub(element, "kind", spec.musicxml).set("text", spec.symbol)
    if chord.bass:
        bass = _sub(element, "bass")
        _sub(bass, "bass-step", chord.bass[0])
        if len(chord.bass) > 1:
            _sub(bass, "bass-alter", chord.bass.count("#") - chord.bass.count("b"))
    for value, alter, kind in spec.degrees:  # what the kind alone does not say: G7b9 is dominant + flat 9
        degree = _sub(element, "degree", **{"print-object": "no"})
        _sub(degree, "degree-value", value)
        _sub(degree, "degree-alter", alter)
        _sub(degree, "degree-type", kind)
    if offset:
        _sub(element, "offset", offset)
    return element


class _Measure:
    """One bar being written: its element, the accidentals in force and the harmonies still to place."""

    def __init__(self, element: ET.Element, signature: dict[str, int]) -> None:
        self.element, self.signature = element, signature
        self.altered: dict[tuple[str, int], int] = {}

    def note(self, units: int, note: Note | None, spelling: tuple[str, int, int] | None,
             tie_in: bool, tie_out: bool, sing: bool) -> None:
        values = _values(units)
        for i, (length, kind, dots) in enumerate(values):
            first, last = i == 0, i == len(values) - 1
            element = _sub(self.element, "note")
            if spelling is None:
                _sub(element, "rest")
            else:
                step, alter, octave = spelling
                pitch = _sub(element, "pitch")
                _sub(pitch, "step", step)
                if alter:
                    _sub(pitch, "alter", alter)
                _sub(pitch, "octave", octave)
            _sub(element, "duration", length)
            starts, stops = (tie_in or not first), (tie_out or not last)
            if spelling is not None:
                for kind_, on in (("stop", starts), ("start", stops)):
                    if on:
                        _sub(element, "tie", type=kind_)
            _sub(element, "voice", 1)
            _sub(element, "type", kind)
            for _ in range(dots):
                _sub(element, "dot")
            if spelling is not None and first and not tie_in:
                step, alter, octave = spelling
                shown = self.altered.get((step, octave), self.signature.get(step, 0))
                if alter != shown:
                    _sub(element, "accidental", _ACCIDENTALS[alter])
                    self.altered[(step, octave)] = alter
            if spelling is not None and (starts or stops):
                notations = _sub(element, "notations")
                for kind_, on in (("stop", starts), ("start", stops)):
                    if on:
                        _sub(notations, "tied", type=kind_)
            if sing and first and note is not None and note.lyric:
                lyric = _sub(element, "lyric", number="1")
                _sub(lyric, "syllabic", note.syllabic or "single")
                _sub(lyric, "text", note.lyric.strip())


def lead_sheet(score: Score, *, composer: str | None = None) -> ET.ElementTree:
    """The lead sheet of ``score`` as a MusicXML ``score-partwise`` tree."""
    bar = score.beats_per_bar * DIVISIONS
    melody = sorted(score.melody.notes if score.melody else [], key=lambda n: n.start)
    end = max(1, math.ceil(score.duration_beats * DIVISIONS / bar - 1e-6)) * bar  # whole bars

    root = ET.Element("score-partwise", version="4.0")
    _sub(_sub(root, "work"), "work-title", score.title)
    _sub(root, "movement-title", score.title)
    ident = _sub(root, "identification")
    _sub(ident, "creator", composer or "bandmate", type="composer")
    _sub(_sub(ident, "encoding"), "software", "bandmate")
    part_list = _sub(root, "part-list")
    _sub(_sub(part_list, "score-part", id="P1"), "part-name", "Lead")
    part = _sub(root, "part", id="P1")

    # Everything as (start, end) in divisions: notes with rests between them, then cut at the barlines.
    events: list[tuple[int, int, Note | None]] = []
    cursor = 0
    for note in melody:
        start, stop = _units(note.start, "a note"), _units(note.end, "a note's end")
        if start < cursor:
            raise ValueError(f"The melody overlaps itself at beat {note.start}; a lead sheet has one voice.")
        if start > cursor:
            events.append((cursor, start, None))
        events.append((start, stop, note))
        cursor = stop
    if end > cursor:
        events.append((cursor, end, None))
    chords = sorted(((_units(s.start, "a chord"), s.chord) for s in score.chords), key=lambda c: c[0])
    marks = {s.start_bar: s.label for s in score.sections}
    signature = _signature(score.key)
    pending = list(chords)

    measures: list[_Measure] = []
    for index in range(end // bar):
        element = _sub(part, "measure", number=str(index + 1))
        if index == 0:
            attributes = _sub(element, "attributes")
            _sub(attributes, "divisions", DIVISIONS)
            key = _sub(attributes, "key")
            _sub(key, "fifths", score.key.fifths)
            _sub(key, "mode", score.key.mode)
            time = _sub(attributes, "time")
            _sub(time, "beats", score.beats_per_bar)
            _sub(time, "beat-type", 4)
            low = min((n.pitch for n in melody), default=60)
            clef = _sub(attributes, "clef")
            _sub(clef, "sign", "G" if low >= 52 else "F")
            _sub(clef, "line", 2 if low >= 52 else 4)
            direction = _sub(element, "direction", placement="above")
            metronome = _sub(_sub(direction, "direction-type"), "metronome")
            _sub(metronome, "beat-unit", "quarter")
            _sub(metronome, "per-minute", round(score.tempo))
            _sub(direction, "sound", tempo=f"{score.tempo:g}")
        if index in marks:
            direction = _sub(element, "direction", placement="above")
            _sub(_sub(direction, "direction-type"), "rehearsal", marks[index])
        measures.append(_Measure(element, signature))

    for start, stop, note in events:
        sounding = score.chord_at(note.start) if note is not None else None
        spelling = _spelling(score.key, note.pitch, sounding.chord if sounding else None) if note is not None else None
        at = start
        while at < stop:
            index = at // bar
            cut = min(stop, (index + 1) * bar)
            measure = measures[index]
            while pending and pending[0][0] < cut:  # chord symbols that start during this piece
                chord_at, chord = pending.pop(0)
                measure.element.append(_harmony(chord, max(0, chord_at - at)))
            measure.note(cut - at, note, spelling, tie_in=at > start, tie_out=cut < stop, sing=at == start)
            at = cut
    barline = _sub(measures[-1].element, "barline", location="right")
    _sub(barline, "bar-style", "light-heavy")
    ET.indent(root, space=" ")
    return ET.ElementTree(root)


def write_musicxml(score: Score, path: str | Path, *, composer: str | None = None) -> Path:
    """Write the lead sheet of ``score`` (melody with lyrics, chord symbols, section marks) as MusicXML."""
    body = ET.tostring(lead_sheet(score, composer=composer).getroot(), encoding="utf-8", xml_declaration=False)
    Path(path).write_bytes(b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
                           b'<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
                           b'"http://www.musicxml.org/dtds/partwise.dtd">\n' + body + b"\n")
    return Path(path)
