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


@dataclass(frozen=True)
class Quality:
    """A chord quality: its intervals and how symbols, numerals and MusicXML name it."""

    intervals: tuple[int, ...]
    symbol: str          # suffix after the root in a chord symbol: "m7"
    numeral: str         # suffix after a Roman numeral: "7", "°", "ø7"
    minor_case: bool     # lower-case numeral (minor third)
    musicxml: str        # MusicXML <kind> value


QUALITIES: dict[str, Quality] = {
    "maj": Quality((0, 4, 7), "", "", False, "major"),
    "min": Quality((0, 3, 7), "m", "", True, "minor"),
    "dim": Quality((0, 3, 6), "dim", "°", True, "diminished"),
    "aug": Quality((0, 4, 8), "aug", "+", False, "augmented"),
    "7": Quality((0, 4, 7, 10), "7", "7", False, "dominant"),
    "maj7": Quality((0, 4, 7, 11), "maj7", "maj7", False, "major-seventh"),
    "m7": Quality((0, 3, 7, 10), "m7", "7", True, "minor-seventh"),
    "m7b5": Quality((0, 3, 6, 10), "m7b5", "ø7", True, "half-diminished"),
    "dim7": Quality((0, 3, 6, 9), "dim7", "°7", True, "diminished-seventh"),
    "sus2": Quality((0, 2, 7), "sus2", "sus2", False, "suspended-second"),
    "sus4": Quality((0, 5, 7), "sus4", "sus4", False, "suspended-fourth"),
    "6": Quality((0, 4, 7, 9), "6", "6", False, "major-sixth"),
    "m6": Quality((0, 3, 7, 9), "m6", "6", True, "minor-sixth"),
    "9": Quality((0, 4, 7, 10, 2), "9", "9", False, "dominant-ninth"),
    "5": Quality((0, 7), "5", "5", False, "power"),
}
_SYMBOL_ALIASES = {
    "": "maj", "M": "maj", "maj": "maj", "major": "maj",
    "m": "min", "min": "min", "minor": "min", "-": "min",
    "dim": "dim", "°": "dim", "o": "dim",
    "aug": "aug", "+": "aug",
    "7": "7", "dom7": "7",
    "maj7": "maj7", "M7": "maj7", "Δ": "maj7", "Δ7": "maj7", "ma7": "maj7",
    "m7": "m7", "min7": "m7", "-7": "m7",
    "m7b5": "m7b5", "ø": "m7b5", "ø7": "m7b5", "min7b5": "m7b5",
    "dim7": "dim7", "°7": "dim7", "o7": "dim7",
    "sus2": "sus2", "sus4": "sus4", "sus": "sus4",
    "6": "6", "m6": "m6", "min6": "m6", "9": "9", "5": "5",
}


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
    """A chord: spelled root, quality name (a key of QUALITIES) and an optional slash bass."""

    root: str
    quality: str = "maj"
    bass: str | None = None

    @property
    def root_pc(self) -> int:
        return note_pc(self.root)

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """Chord tones as pitch classes, root first (slash bass last if it adds one)."""
        pcs = [(self.root_pc + i) % 12 for i in QUALITIES[self.quality].intervals]
        if self.bass is not None and note_pc(self.bass) not in pcs:
            pcs.append(note_pc(self.bass))
        return tuple(pcs)

    def tone_names(self) -> dict[int, str]:
        """Each chord tone's pitch class, spelled from the root (Bb D F for Bb, not A# D F)."""
        names = {}
        for interval in QUALITIES[self.quality].intervals:
            steps = 6 if (interval == 9 and self.quality == "dim7") else _INTERVAL_LETTERS[interval]
            names[(self.root_pc + interval) % 12] = spell(self.root_pc + interval,
                                                          LETTERS[(LETTERS.index(self.root[0]) + steps) % 7])
        if self.bass is not None:
            names.setdefault(note_pc(self.bass), self.bass)
        return names

    @property
    def symbol(self) -> str:
        text = self.root + QUALITIES[self.quality].symbol
        return f"{text}/{self.bass}" if self.bass else text

    def __str__(self) -> str:
        return self.symbol


def parse_chord(symbol: str) -> Chord:
    """Parse a chord symbol such as ``"C"``, ``"F#m7"``, ``"Bb7"``, ``"Em/B"`` or ``"G5"``."""
    match = re.fullmatch(r"\s*([A-Ga-g][#♯b♭]?)([^/\s]*)(?:/([A-Ga-g][#♯b♭]?))?\s*", symbol or "")
    if not match or match.group(2) not in _SYMBOL_ALIASES:
        raise ToolError(f"'{symbol}' is not a chord symbol I know; write chords like 'C', 'Am', 'G7' or 'Fmaj7'.")
    root = match.group(1)[0].upper() + match.group(1)[1:].replace("♯", "#").replace("♭", "b")
    bass = match.group(3)
    if bass:
        bass = bass[0].upper() + bass[1:].replace("♯", "#").replace("♭", "b")
    return Chord(root, _SYMBOL_ALIASES[match.group(2)], bass)


def parse_chords(text: str) -> list[Chord]:
    """Parse a space-, comma- or bar-separated list of chord symbols ('C G Am F', 'C | G | Am')."""
    tokens = [t for t in re.split(r"[\s,|]+", text or "") if t]
    if not tokens:
        raise ToolError("No chords given; write chords like 'C G Am F'.")
    return [parse_chord(t) for t in tokens]


_NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
_NUMERAL_RE = re.compile(r"([b#♭♯]?)(VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(.*)")
# Suffix -> quality, for upper- and lower-case numerals.
_UPPER_SUFFIX = {q.numeral: name for name, q in QUALITIES.items() if not q.minor_case}
_LOWER_SUFFIX = {q.numeral: name for name, q in QUALITIES.items() if q.minor_case}
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
        raise ToolError(f"'{numeral}' has a suffix I don't know; use '', '7', 'maj7', '°', 'ø7', 'sus4', '6' or '9'.")
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
    quality = QUALITIES[chord.quality]
    roman = _NUMERALS[degree].lower() if quality.minor_case else _NUMERALS[degree]
    return accidental + roman + quality.numeral



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
