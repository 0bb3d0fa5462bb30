"""Keys, chords and key-relative Roman numerals, spelled correctly in any key.

Roman numerals are relative to the key's own scale (major scale for major keys,
natural minor for minor keys): in A minor ``VII`` is G and ``V`` is E, whose
quality comes from the numeral's case and suffix (``V7`` is E7). This is the
representation the chord generators (rule-based now, learned later) speak, so
a progression learned in one key can be played in any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.errors import ToolError
from tools.music.chord_symbols import (
    QUALITIES,  # noqa: F401 - the plain qualities, read from here by the corpora and tests
    VOCABULARY,
    is_no_chord,
    quality,
    quality_for_intervals,
    quality_name,
)

Mode = Literal["major", "minor"]

LETTERS = "CDEFGAB"
_NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NATURAL_LETTER = {pc: letter for letter, pc in _NATURAL_PC.items()}
# Letters above the root for each interval in semitones: 3 and 4 are thirds, 6-8 fifths, 10-11 sevenths.
_INTERVAL_LETTERS = {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 4, 8: 4, 9: 5, 10: 6, 11: 6}
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
}
# Tonics with at most 7 accidentals; other spellings (A# major) map to their enharmonic twin.
_MAJOR_TONICS = ("C", "G", "D", "A", "E", "B", "F#", "C#", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb")
_MINOR_TONICS = ("A", "E", "B", "F#", "C#", "G#", "D#", "A#", "D", "G", "C", "F", "Bb", "Eb", "Ab")
# Everyday names for a pitch class when no key says otherwise.
_COMMON_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_pc(name: str) -> int:
    """Pitch class (0-11) of a note name such as ``"C#"``, ``"Bb"`` or ``"E♭"``."""
    match = re.fullmatch(r"([A-Ga-g])([#♯b♭]*)", name.strip())
    if not match:
        raise ToolError(f"'{name}' is not a note name; use a letter A-G with an optional # or b.")
    alter = sum(1 if ch in "#♯" else -1 for ch in match.group(2))
    return (_NATURAL_PC[match.group(1).upper()] + alter) % 12


def spell(pc: int, letter: str) -> str:
    """Spell pitch class ``pc`` on the given letter, with the sharps or flats that takes."""
    diff = (pc - _NATURAL_PC[letter]) % 12
    alter = diff if diff <= 6 else diff - 12
    return letter + ("#" * alter if alter > 0 else "b" * -alter)


def common_name(pc: int) -> str:
    """The everyday spelling of a pitch class (C#, Eb, F#, Ab, Bb)."""
    return _COMMON_NAMES[pc % 12]


def accidental_name(pc: int, sharp: bool) -> str:
    """Pitch class ``pc`` named with a sharp or with a flat where it needs an accidental (6: F# or Gb; 7: G)."""
    pc %= 12
    if pc in _NATURAL_LETTER:
        return _NATURAL_LETTER[pc]
    return spell(pc, _NATURAL_LETTER[(pc - 1) % 12] if sharp else _NATURAL_LETTER[(pc + 1) % 12])


@dataclass(frozen=True)
class Key:
    """A key: a spelled tonic and a mode."""

    tonic: str
    mode: Mode

    @property
    def tonic_pc(self) -> int:
        return note_pc(self.tonic)

    @property
    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the scale, tonic first."""
        return tuple((self.tonic_pc + step) % 12 for step in SCALES[self.mode])

    @property
    def letters(self) -> str:
        start = LETTERS.index(self.tonic[0])
        return "".join(LETTERS[(start + i) % 7] for i in range(7))

    @property
    def fifths(self) -> int:
        """Sharps (positive) or flats (negative) in the key signature."""
        major_tonic = self.tonic if self.mode == "major" else self.relative.tonic
        index = _MAJOR_TONICS.index(major_tonic)
        return index if index < 8 else 7 - index

    @property
    def relative(self) -> "Key":
        """The relative major of a minor key, or the relative minor of a major key."""
        if self.mode == "major":
            return Key(self.scale_names()[5], "minor")
        return Key(self.scale_names()[2], "major")

    def scale_names(self) -> tuple[str, ...]:
        return tuple(spell(pc, letter) for pc, letter in zip(self.scale, self.letters))

    def name_of(self, pc: int) -> str:
        """Spell a pitch class as this key would: scale notes by the scale, others by the signature."""
        pc %= 12
        if pc in self.scale:
            return self.scale_names()[self.scale.index(pc)]
        if self.mode == "minor":
            # Raised 6th and 7th (melodic/harmonic minor) are sharpened scale letters.
            for degree in (5, 6):
                if (self.scale[degree] + 1) % 12 == pc:
                    return spell(pc, self.letters[degree])
        raised = spell(pc, self.letters[next(i for i, s in enumerate(self.scale) if (s + 1) % 12 == pc)])
        lowered = spell(pc, self.letters[next(i for i, s in enumerate(self.scale) if (s - 1) % 12 == pc)])
        # The fewest accidentals (F natural, not E#, in D major); otherwise the signature's direction.
        return min((raised, lowered), key=lambda name: (len(name), name != (raised if self.fifths > 0 else lowered)))

    def __str__(self) -> str:
        return f"{self.tonic} {self.mode}"


def parse_key(text: str) -> Key:
    """Parse ``"A minor"``, ``"F#"``, ``"Bbm"``, ``"Eb major"`` or ``"c# min"`` into a Key.

    Raises ToolError for anything else. Tonics beyond seven accidentals become
    their enharmonic twin (A# major -> Bb major).
    """
    match = re.fullmatch(
        r"\s*([A-Ga-g])\s*([#♯b♭]?)\s*(m|min|minor|-|maj|major|M)?\s*", text or "", flags=re.IGNORECASE
    )
    if not match:
        raise ToolError(f"'{text}' is not a key I know; use a key like 'C', 'F# minor' or 'Bbm'.")
    letter, accidental, mode_word = match.group(1).upper(), match.group(2), match.group(3) or ""
    accidental = {"♯": "#", "♭": "b", "B": "b"}.get(accidental, accidental)
    mode: Mode = "minor" if mode_word.lower() in ("m", "min", "minor", "-") and mode_word != "M" else "major"
    pc = note_pc(letter + accidental)
    tonics = _MAJOR_TONICS if mode == "major" else _MINOR_TONICS
    wanted = letter + accidental
    if wanted in tonics:
        return Key(wanted, mode)
    return Key(next(t for t in tonics if note_pc(t) == pc), mode)


def key_for_pc(tonic_pc: int, mode: Mode) -> Key:
    """The key on pitch class ``tonic_pc`` spelled with the fewest accidentals: 1 major is Db, 1 minor C#.

    The two six-accidental ties are named F# major and Eb minor.
    """
    tonics = _MAJOR_TONICS if mode == "major" else _MINOR_TONICS
    keys = [Key(t, mode) for t in tonics if note_pc(t) == tonic_pc % 12]
    return min(keys, key=lambda k: (abs(k.fifths), k.fifths if mode == "minor" else -k.fifths))


@dataclass(frozen=True)
class Chord:
    """A chord: spelled root, quality name (a key of :data:`tools.music.chord_symbols.VOCABULARY`) and an
    optional slash bass."""

    root: str
    quality: str = "maj"
    bass: str | None = None

    @property
    def root_pc(self) -> int:
        return note_pc(self.root)

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """Chord tones as pitch classes, root first (slash bass last if it adds one)."""
        pcs = [(self.root_pc + i) % 12 for i in quality(self.quality).intervals]
        if self.bass is not None and note_pc(self.bass) not in pcs:
            pcs.append(note_pc(self.bass))
        return tuple(pcs)

    def tone_names(self) -> dict[int, str]:
        """Each chord tone's pitch class, spelled from the root (Bb D F for Bb, not A# D F; D# for C7#9)."""
        intervals = quality(self.quality).intervals
        names = {}
        for interval in intervals:
            names[(self.root_pc + interval) % 12] = _spell_interval(self.root, interval, intervals)
        if self.bass is not None:
            names.setdefault(note_pc(self.bass), self.bass)
        return names

    def voicing(self, low: int = 48) -> list[int]:
        """MIDI pitches from ``low`` up: the bass (slash bass, else root) lowest, then every chord tone
        once in the octave above it, in close position."""
        bass_pc = note_pc(self.bass) if self.bass else self.root_pc
        bottom = low + (bass_pc - low) % 12
        tones = [(self.root_pc + i) % 12 for i in quality(self.quality).intervals]
        return [bottom] + sorted(bottom + 1 + (pc - bottom - 1) % 12 for pc in tones)

    def simplified(self) -> "Chord":
        """The chord in the plain vocabulary the chord models know (G7b9 -> G7, Dm11 -> Dm7, C69 -> C6)."""
        return Chord(self.root, quality(self.quality).family, self.bass)

    @property
    def symbol(self) -> str:
        text = self.root + quality(self.quality).symbol
        return f"{text}/{self.bass}" if self.bass else text

    def __str__(self) -> str:
        return self.symbol


def _spell_interval(root: str, interval: int, intervals: tuple[int, ...]) -> str:
    """The note ``interval`` semitones above ``root``, on the letter its role in the chord takes: a raised
    ninth beside a major third (D# in C7#9), a raised eleventh or flat thirteenth beside a fifth (F#, Ab
    in C7#11, C7b13), a diminished seventh (Bbb in Cdim7)."""
    steps = _INTERVAL_LETTERS[interval]
    if interval == 3 and 4 in intervals:
        steps = 1
    elif interval == 6 and 7 in intervals:
        steps = 3
    elif interval == 8 and 7 in intervals:
        steps = 5
    elif interval == 9 and 6 in intervals and 3 in intervals and 10 not in intervals:
        steps = 6
    return spell(note_pc(root) + interval, LETTERS[(LETTERS.index(root[0]) + steps) % 7])


def _note_name(text: str) -> str:
    return text[0].upper() + text[1:].replace("♯", "#").replace("♭", "b")


def parse_chord(symbol: str) -> Chord:
    """Parse a lead-sheet chord symbol: ``"C"``, ``"F#m7"``, ``"Bb7b9"``, ``"EbΔ7♯11"``, ``"Am7/G"``, ``"D7sus4"``,
    ``"C6/9"``, ``"Gø"``... (the vocabulary is :data:`tools.music.chord_symbols.VOCABULARY`).

    ``N.C.`` (no chord) and anything else that names no chord raise ToolError.
    """
    if is_no_chord(symbol):
        raise ToolError(f"'{symbol}' means no chord; leave the bar empty instead of naming a chord there.")
    text = (symbol or "").strip().replace("6/9", "69")
    match = re.fullmatch(r"([A-Ga-g][#♯b♭]?)([^/]*)(?:/([A-Ga-g][#♯b♭]?))?", text)
    if not match:
        raise ToolError(f"'{symbol}' is not a chord symbol I can read; write chords like 'C', 'Am7', 'G7b9', "
                        "'Fmaj7#11', 'Bbm7b5', 'D7sus4' or 'C/E'.")
    bass = _note_name(match.group(3)) if match.group(3) else None
    return Chord(_note_name(match.group(1)), quality_name(match.group(2), symbol), bass)


def chord_from_voicing(root: str, pitches: list[int] | tuple[int, ...]) -> Chord:
    """Name the chord sounding in ``pitches`` (MIDI numbers) on ``root``: the inverse of :meth:`Chord.voicing`.

    The lowest note is the bass; when it is not the root and sounds only there, it is a slash bass
    outside the chord (C/D), else a chord tone in the bass (C/E). ToolError if no quality has those notes.
    """
    root = _note_name(root)
    root_pc = note_pc(root)
    ordered = sorted(pitches)
    bass_pc = ordered[0] % 12
    above = {p % 12 for p in ordered[1:]} or {bass_pc}
    tones = above if bass_pc != root_pc and bass_pc not in above else above | {bass_pc}
    name = quality_for_intervals((pc - root_pc) % 12 for pc in tones)
    if name is None:
        notes = " ".join(common_name(p) for p in sorted(tones))
        raise ToolError(f"The notes {notes} make no chord on {root} that I can name; give the chord symbol instead.")
    intervals = quality(name).intervals
    bass = None
    if bass_pc != root_pc:
        bass = _spell_interval(root, (bass_pc - root_pc) % 12, intervals + ((bass_pc - root_pc) % 12,))
    return Chord(root, name, bass)


def parse_chords(text: str) -> list[Chord]:
    """Parse a space-, comma- or bar-separated list of chord symbols ('C G Am F', 'C | G | Am')."""
    tokens = [t for t in re.split(r"[\s,|]+", text or "") if t]
    if not tokens:
        raise ToolError("No chords given; write chords like 'C G Am F'.")
    return [parse_chord(t) for t in tokens]


_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
_NUMERAL_RE = re.compile(r"([b#♭♯]?)(VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(.*)")
# Suffix -> quality, for upper- and lower-case numerals.
_UPPER_SUFFIX = {q.numeral: name for name, q in VOCABULARY.items() if not q.minor_case}
_LOWER_SUFFIX = {q.numeral: name for name, q in VOCABULARY.items() if q.minor_case}
_LOWER_SUFFIX.update({"o": "dim", "o7": "dim7", "ø": "m7b5", "m7b5": "m7b5"})
_UPPER_SUFFIX.update({"M7": "maj7", "Δ7": "maj7", "Δ": "maj7", "sus": "sus4"})


@dataclass(frozen=True)
class Numeral:
    """A Roman numeral split into its parts: ``bVII7`` is accidental "b", degree 6, upper case, suffix "7"."""

    accidental: str      # "", "b", "#", "♭" or "♯"
    degree: int          # 0-6 for I-VII
    minor: bool          # written in lower case (a minor third)
    suffix: str          # what follows the numeral: "7", "°", "maj7/V"...

    @property
    def roman(self) -> str:
        """The upper-case numeral of the degree: "I" to "VII"."""
        return _NUMERALS[self.degree]


def parse_numeral(numeral: str) -> Numeral:
    """Split a Roman numeral chord such as ``"bVII"``, ``"vi"`` or ``"V7"`` into its parts; ToolError if it is none."""
    match = _NUMERAL_RE.fullmatch(numeral.strip())
    if not match:
        raise ToolError(f"'{numeral}' is not a Roman numeral chord; write numerals like 'I', 'vi', 'V7' or 'bVII'.")
    accidental, roman, suffix = match.groups()
    return Numeral(accidental, _NUMERALS.index(roman.upper()), roman.islower(), suffix)


def roman_to_chord(numeral: str, key: Key) -> Chord:
    """The chord a Roman numeral names in ``key``: ``roman_to_chord("V7", Key("A", "minor"))`` is E7.

    Secondary chords such as ``V7/V`` are read in the major key of their target.
    """
    if "/" in numeral:
        head, target = numeral.split("/", 1)
        target_root = roman_to_chord(target, key).root
        return roman_to_chord(head, parse_key(target_root))
    parts = parse_numeral(numeral)
    table = _LOWER_SUFFIX if parts.minor else _UPPER_SUFFIX
    if parts.suffix not in table:
        raise ToolError(f"'{numeral}' has a suffix I don't know; use one like '', '7', 'maj7', '°', 'ø7', 'sus4', '9' or '7b9'.")
    shift = {"b": -1, "♭": -1, "#": 1, "♯": 1}.get(parts.accidental, 0)
    pc = (key.scale[parts.degree] + shift) % 12
    return Chord(spell(pc, key.letters[parts.degree]), table[parts.suffix])


def chord_to_roman(chord: Chord, key: Key) -> str:
    """The Roman numeral of ``chord`` in ``key`` (inverse of :func:`roman_to_chord` up to spelling).

    Chromatic roots take a flat in major keys (bVII, bVI, bIII) and in minor keys
    the raised degrees take a sharp (#vii°, #vi); the tritone is #IV in both.
    """
    interval = (chord.root_pc - key.tonic_pc) % 12
    steps = SCALES[key.mode]
    if interval in steps:
        accidental, degree = "", steps.index(interval)
    elif interval == 6:
        accidental, degree = "#", 3
    elif key.mode == "minor" and interval in (4, 9, 11):
        accidental, degree = "#", steps.index(interval - 1)
    else:
        accidental, degree = "b", steps.index((interval + 1) % 12)
    spec = quality(chord.quality)
    roman = _NUMERALS[degree].lower() if spec.minor_case else _NUMERALS[degree]
    return accidental + roman + spec.numeral



@dataclass(frozen=True)
class ChordSpan:
    """A chord held for ``beats`` beats from ``start`` (in beats), with its Roman numeral."""

    chord: Chord
    roman: str
    start: float
    beats: float

    @property
    def end(self) -> float:
        return self.start + self.beats

    def shifted(self, beats: float) -> "ChordSpan":
        """The same chord moved later by ``beats``."""
        return ChordSpan(self.chord, self.roman, self.start + beats, self.beats)
