"""The chord-symbol vocabulary of lead sheets: every quality bandmate reads, plays and writes, and the
one reader of a symbol's suffix (``m7b5``, ``7(#9)``, ``Δ7♯11``, ``13sus4``, ``-7``, ``ø``, ``7+``).

A suffix is normalised (unicode signs, parentheses, ``-``/``min`` for minor, ``Δ``/``M`` for major, ``+``
for augmented or a raised note, ``°``/``ø``) and its modifiers put in one order (alterations, then
sus, then add), then looked up in :data:`VOCABULARY`; each quality has one canonical suffix, so
a symbol read and written again comes out the same however it was spelled. Roots, slash basses and
:class:`tools.music.harmony.Chord` are :mod:`tools.music.harmony`'s; this module imports nothing of ours
but the error type, so harmony can build on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import ToolError

NO_CHORD = "N.C."
Degree = tuple[int, int, str]   # MusicXML <degree>: value, alter, type ("add", "alter", "subtract")


@dataclass(frozen=True)
class Quality:
    """A chord quality: its intervals and how symbols, numerals and MusicXML name it.

    ``family`` is the plain quality it simplifies to (``7b9`` -> ``7``, ``m11`` -> ``m7``): the
    vocabulary the chord models are trained on.
    """

    intervals: tuple[int, ...]
    symbol: str          # suffix after the root in a chord symbol: "m7"
    numeral: str         # suffix after a Roman numeral: "7", "°", "ø7"
    minor_case: bool     # lower-case numeral (minor third)
    musicxml: str        # MusicXML <kind> value
    degrees: tuple[Degree, ...] = ()
    family: str = ""


def _quality(symbol: str, intervals: tuple[int, ...], kind: str, degrees: tuple[Degree, ...] = (),
             family: str = "", numeral: str | None = None) -> Quality:
    minor = 3 in intervals and 4 not in intervals
    if numeral is None:
        numeral = symbol[1:] if minor and symbol.startswith("m") else symbol
    return Quality(intervals, symbol, numeral, minor, kind, degrees, family)


_B7, _N9, _F9, _S9, _S11, _F13, _N13 = (7, -1, "add"), (9, 0, "add"), (9, -1, "add"), (9, 1, "add"), \
    (11, 1, "add"), (13, -1, "add"), (13, 0, "add")
# The plain qualities (the chord models' vocabulary, the names the corpora use): name -> quality.
QUALITIES: dict[str, Quality] = {
    "maj": _quality("", (0, 4, 7), "major", family="maj"),
    "min": _quality("m", (0, 3, 7), "minor", family="min"),
    "dim": _quality("dim", (0, 3, 6), "diminished", family="dim", numeral="°"),
    "aug": _quality("aug", (0, 4, 8), "augmented", family="aug", numeral="+"),
    "7": _quality("7", (0, 4, 7, 10), "dominant", family="7"),
    "maj7": _quality("maj7", (0, 4, 7, 11), "major-seventh", family="maj7"),
    "m7": _quality("m7", (0, 3, 7, 10), "minor-seventh", family="m7"),
    "m7b5": _quality("m7b5", (0, 3, 6, 10), "half-diminished", family="m7b5", numeral="ø7"),
    "dim7": _quality("dim7", (0, 3, 6, 9), "diminished-seventh", family="dim7", numeral="°7"),
    "sus2": _quality("sus2", (0, 2, 7), "suspended-second", family="sus2"),
    "sus4": _quality("sus4", (0, 5, 7), "suspended-fourth", family="sus4"),
    "6": _quality("6", (0, 4, 7, 9), "major-sixth", family="6"),
    "m6": _quality("m6", (0, 3, 7, 9), "minor-sixth", family="m6"),
    "9": _quality("9", (0, 4, 7, 10, 2), "dominant-ninth", family="9"),
    "5": _quality("5", (0, 7), "power", family="5"),
}
# Extended, altered, suspended and added-note qualities: named by their canonical suffix.
_EXTENDED = [
    _quality("69", (0, 4, 7, 9, 2), "major-sixth", (_N9,), "6"),
    _quality("m69", (0, 3, 7, 9, 2), "minor-sixth", (_N9,), "m6"),
    _quality("m(maj7)", (0, 3, 7, 11), "major-minor", (), "min", numeral="(maj7)"),
    _quality("7#5", (0, 4, 8, 10), "augmented-seventh", (), "7"),
    _quality("maj7#5", (0, 4, 8, 11), "major-seventh", ((5, 1, "alter"),), "maj7"),
    _quality("7b5", (0, 4, 6, 10), "dominant", ((5, -1, "alter"),), "7"),
    _quality("maj9", (0, 4, 7, 11, 2), "major-ninth", (), "maj7"),
    _quality("m9", (0, 3, 7, 10, 2), "minor-ninth", (), "m7"),
    _quality("m9b5", (0, 3, 6, 10, 2), "half-diminished", (_N9,), "m7b5", numeral="ø9"),
    _quality("11", (0, 4, 7, 10, 2, 5), "dominant-11th", (), "7"),
    _quality("m11", (0, 3, 7, 10, 2, 5), "minor-11th", (), "m7"),
    _quality("13", (0, 4, 7, 10, 2, 9), "dominant-13th", (), "7"),
    _quality("m13", (0, 3, 7, 10, 2, 9), "minor-13th", (), "m7"),
    _quality("maj13", (0, 4, 7, 11, 2, 9), "major-13th", (), "maj7"),
    _quality("7b9", (0, 4, 7, 10, 1), "dominant", (_F9,), "7"),
    _quality("7#9", (0, 4, 7, 10, 3), "dominant", (_S9,), "7"),
    _quality("7#11", (0, 4, 7, 10, 6), "dominant", (_S11,), "7"),
    _quality("7b13", (0, 4, 7, 10, 8), "dominant", (_F13,), "7"),
    _quality("7b9#11", (0, 4, 7, 10, 1, 6), "dominant", (_F9, _S11), "7"),
    _quality("7#5b9", (0, 4, 8, 10, 1), "augmented-seventh", (_F9,), "7"),
    _quality("7#5#9", (0, 4, 8, 10, 3), "augmented-seventh", (_S9,), "7"),
    _quality("7b5b9", (0, 4, 6, 10, 1), "dominant", ((5, -1, "alter"), _F9), "7"),
    _quality("7b5#9", (0, 4, 6, 10, 3), "dominant", ((5, -1, "alter"), _S9), "7"),
    _quality("7alt", (0, 4, 10, 1, 3, 8), "dominant", ((5, 0, "subtract"), _F9, _S9, _F13), "7"),
    _quality("9#11", (0, 4, 7, 10, 2, 6), "dominant-ninth", (_S11,), "9"),
    _quality("9#5", (0, 4, 8, 10, 2), "dominant-ninth", ((5, 1, "alter"),), "9"),
    _quality("13b9", (0, 4, 7, 10, 1, 9), "dominant-13th", ((9, -1, "alter"),), "7"),
    _quality("13#9", (0, 4, 7, 10, 3, 9), "dominant-13th", ((9, 1, "alter"),), "7"),
    _quality("13#11", (0, 4, 7, 10, 2, 6, 9), "dominant-13th", ((11, 1, "alter"),), "7"),
    _quality("maj7#11", (0, 4, 7, 11, 6), "major-seventh", (_S11,), "maj7"),
    _quality("maj9#11", (0, 4, 7, 11, 2, 6), "major-ninth", (_S11,), "maj7"),
    _quality("7sus4", (0, 5, 7, 10), "suspended-fourth", (_B7,), "sus4"),
    _quality("9sus4", (0, 5, 7, 10, 2), "suspended-fourth", (_B7, _N9), "sus4"),
    _quality("13sus4", (0, 5, 7, 10, 2, 9), "suspended-fourth", (_B7, _N9, _N13), "sus4"),
    _quality("7b9sus4", (0, 5, 7, 10, 1), "suspended-fourth", (_B7, _F9), "sus4"),
    _quality("add9", (0, 4, 7, 2), "major", (_N9,), "maj"),
    _quality("madd9", (0, 3, 7, 2), "minor", (_N9,), "min"),
    _quality("add11", (0, 4, 7, 5), "major", ((11, 0, "add"),), "maj"),
]
_NAME_OF_SUFFIX = {q.symbol: name for name, q in QUALITIES.items()} | {q.symbol: q.symbol for q in _EXTENDED}
VOCABULARY: dict[str, Quality] = QUALITIES | {q.symbol: q for q in _EXTENDED}
_BY_INTERVALS = {frozenset(q.intervals): name for name, q in VOCABULARY.items()}
assert len(_BY_INTERVALS) == len(VOCABULARY), "two qualities share their notes"

# Modifiers in the order the canonical suffix writes them.
_MODIFIERS = ("b5", "#5", "b9", "#9", "#11", "b13", "alt", "sus2", "sus4", "add9", "add11")
_SUFFIX_RE = re.compile(r"(mmaj|maj|m|dim|aug)?(69|13|11|9|7|6|5)?((?:" + "|".join(map(re.escape, _MODIFIERS)) + r")*)")
_REWRITES = [  # (pattern, replacement), applied in order to a suffix without spaces or parentheses
    (r"^(min|mi|-)", "m"), (r"^m(M|Maj|MA|Ma|ma)(?=\d)", "mmaj"), (r"^(major|Maj|MA|Ma|ma|M)(?=\d|$)", "maj"),
    (r"^(°|o)", "dim"), (r"^ø7?", "m7b5"), (r"^\+", "aug"), (r"^dom", ""), (r"^alt$", "7alt"),
    (r"^aug(maj7|maj9)$", r"\1#5"), (r"^aug(7|9)", r"\1#5"), (r"^(7|9)(\+|aug)(?!\d)", r"\1#5"),
    (r"\+(?=\d)", "#"), (r"(?<=.)-(?=\d)", "b"), (r"sus(?![24])", "sus4"), (r"add2$", "add9"),
    (r"add4$", "add11"), (r"^2$", "add9"), (r"^6/?9", "69"), (r"^m6/?9", "m69"),
]
_ALIASES = {"maj": "", "mb5": "dim", "dim7b5": "dim7", "majadd9": "add9", "6add9": "69", "m6add9": "m69",
            "7add9": "9", "maj7add9": "maj9", "m7add9": "m9", "7add13": "13", "mmaj": "m(maj7)",
            "mmaj7": "m(maj7)", "augadd9": "", "7sus4b9": "7b9sus4", "7#9#5": "7#5#9", "7b9#5": "7#5b9"}


def canonical_suffix(suffix: str) -> str | None:
    """The canonical spelling of a chord symbol's suffix (``"-7"`` -> ``"m7"``, ``"7(♯9)"`` -> ``"7#9"``,
    ``"Δ"`` -> ``"maj7"``), or None when it names no quality in :data:`VOCABULARY`."""
    text = re.sub(r"[\s(),]", "", suffix.translate(str.maketrans({"♯": "#", "♭": "b", "−": "-", "–": "-"})))
    text = re.sub(r"^-?(Δ|\^)$", lambda m: "m(maj7)" if m.group(0).startswith("-") else "maj7", text)
    text = text.replace("Δ", "maj").replace("^", "maj")
    for pattern, replacement in _REWRITES:
        text = re.sub(pattern, replacement, text)
    text = _ALIASES.get(text, text)
    if text in _NAME_OF_SUFFIX:
        return text
    match = _SUFFIX_RE.fullmatch(text)
    if not match:
        return None
    head, number, rest = match.group(1) or "", match.group(2) or "", match.group(3)
    modifiers = re.findall("|".join(map(re.escape, sorted(_MODIFIERS, key=len, reverse=True))), rest)
    if len(set(modifiers)) != len(modifiers):
        return None
    if head == "aug" and not number:
        head, modifiers = "", ["#5", *modifiers]
    ordered = head + number + "".join(sorted(modifiers, key=_MODIFIERS.index))
    ordered = _ALIASES.get(ordered, ordered)
    return ordered if ordered in _NAME_OF_SUFFIX else None


def quality_name(suffix: str, symbol: str) -> str:
    """The name (a key of :data:`VOCABULARY`) of the quality ``suffix`` spells; ToolError naming ``symbol`` if none."""
    canonical = canonical_suffix(suffix)
    if canonical is None:
        raise ToolError(f"'{symbol}' is not a chord symbol I can read; write chords like 'C', 'Am7', 'G7b9', "
                        "'Fmaj7#11', 'Bbm7b5', 'D7sus4' or 'C/E'.")
    return _NAME_OF_SUFFIX[canonical]


def quality(name: str) -> Quality:
    """The quality called ``name`` (``"maj"``, ``"m7"``, ``"7b9"``...)."""
    return VOCABULARY[name]


def quality_for_intervals(intervals: Iterable[int]) -> str | None:
    """The name of the quality with exactly these intervals above the root (in semitones), or None."""
    return _BY_INTERVALS.get(frozenset(i % 12 for i in intervals))


def is_no_chord(symbol: str) -> bool:
    """Does ``symbol`` say "no chord" (``N.C.``, ``NC``, ``n.c.``)?"""
    return re.fullmatch(r"\s*N\.?\s*C\.?\s*", symbol or "", flags=re.IGNORECASE) is not None
