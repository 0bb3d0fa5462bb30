"""Real chord progressions from the corpora read offline, parsed with music21 and cached as JSON.

- ``nottingham``: the Nottingham folk tunes (ABC, chord symbols in quotes); the text is the
  tune's title, the genre folk.
- ``bach``: the 371 Bach chorales of the music21 corpus, ``chordify``-ed and named in the key
  music21 analyses; text = title, genre "classical".
- ``romantext``: the music21 corpus's human Roman-numeral analyses (Bach chorales, Monteverdi
  madrigals), read in their local keys; genre "classical".

Every bar keeps at most two chords: the one sounding on the downbeat and the one sounding
half-way through the bar (when it differs). Inversions are folded to root position. Parsing
chordified chorales takes minutes, so :func:`load_corpus` caches each source under ``<home>/cache``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from core.errors import ToolError
from core.files import atomic_write_text
from tools.models.chord_model import UNK
from tools.music.harmony import (
    QUALITIES,
    Chord,
    Key,
    chord_to_roman,
    common_name,
    parse_key,
)
from training.chord_data import MAX_SEQUENCE_BARS, ChordSequence

SOURCES = ("nottingham", "bach", "romantext")
CACHE_VERSION = 2


# ---------------------------------------------------------------- pitch sets -> key-relative numerals

def quality_of(root_pc: int, pitch_classes: Iterable[int]) -> str | None:
    """The quality in :data:`tools.music.harmony.QUALITIES` that best names a pitch-class set on ``root_pc``.

    Each tone present scores a point, a tone the quality lacks costs one and a half, an extra
    tone (a passing note in a chordified chorale, an added ninth) a quarter; None when fewer
    than two chord tones are there.
    """
    intervals = {(pc - root_pc) % 12 for pc in pitch_classes}
    best, best_score = None, 0.0
    for name, quality in QUALITIES.items():
        wanted = set(quality.intervals)
        hit = len(wanted & intervals)
        score = hit - 1.5 * len(wanted - intervals) - 0.25 * len(intervals - wanted)
        if hit >= 2 and score > best_score:
            best, best_score = name, score
    return best


def roman_of(root_pc: int, pitch_classes: Iterable[int], key: Key) -> str:
    """The Roman numeral (root position) of a chord given as pitch classes, or the unknown token."""
    quality = quality_of(root_pc, pitch_classes)
    if quality is None:
        return UNK
    return chord_to_roman(Chord(common_name(root_pc), quality), key)


def _m21_key(k) -> Key:
    """A music21 Key (any church mode) as a major or minor :class:`Key`."""
    minor = getattr(k, "mode", "major") in ("minor", "dorian", "phrygian", "aeolian", "locrian")
    return parse_key(f"{k.tonic.name.replace('-', 'b')} {'minor' if minor else 'major'}")


def _bars_from_events(measures: Sequence[tuple[float, list[tuple[float, str]]]], carry: str | None = None
                      ) -> list[tuple[str, ...]]:
    """Bars of (bar length, [(offset, numeral)]) -> the numerals sounding at the downbeat and half-bar."""
    bars: list[tuple[str, ...]] = []
    current = carry
    for length, events in measures:
        events = sorted(events)
        picked: list[str] = []
        for point in (0.0, length / 2):
            for offset, numeral in events:
                if offset <= point + 1e-6:
                    current = numeral
            if current is not None and (not picked or picked[-1] != current):
                picked.append(current)
        for _, numeral in events:  # the last chord of the bar carries over
            current = numeral
        if picked:
            bars.append(tuple(picked))
    return bars[:MAX_SEQUENCE_BARS]


# ---------------------------------------------------------------- Nottingham (ABC)

def _abc_tunes(path: Path) -> list[str]:
    text = path.read_text(encoding="latin-1")
    return [chunk for chunk in re.split(r"^(?=X:)", text, flags=re.M) if chunk.startswith("X:")]


def _abc_segments(tune: str) -> list[str]:
    """A tune split at its key changes, each piece a parseable tune (music21 drops mid-tune K: fields)."""
    lines = tune.splitlines()
    first_k = next((i for i, ln in enumerate(lines) if ln.startswith("K:")), None)
    if first_k is None:
        return []
    header = [ln for ln in lines[:first_k] if not ln.startswith(("M:", "K:"))]
    meter = next((ln for ln in reversed(lines[:first_k]) if ln.startswith("M:")), "M:4/4")
    segments, body, key_line = [], [], lines[first_k]
    for ln in lines[first_k + 1:]:
        if ln.startswith("K:"):
            segments.append("\n".join([*header, meter, key_line, *body]))
            body, key_line = [], ln
            continue
        if ln.startswith("M:"):
            meter = ln
        body.append(ln)
    segments.append("\n".join([*header, meter, key_line, *body]))
    return segments


def parse_abc_tune(tune: str) -> tuple[str, list[tuple[str, ...]], str]:
    """(title, bars of Roman numerals, mode of the first key) of one ABC tune."""
    from music21 import converter, harmony
    from music21 import key as m21key

    title = (re.search(r"^T:\s*(.+)$", tune, re.M) or [None, ""])[1].strip()
    bars: list[tuple[str, ...]] = []
    first_mode, carry = None, None
    for segment in _abc_segments(tune):
        score = converter.parse(segment, format="abc")
        k = score.recurse().getElementsByClass(m21key.KeySignature).first()
        if k is None:
            continue
        home = _m21_key(k if isinstance(k, m21key.Key) else k.asKey("major"))
        first_mode = first_mode or home.mode
        part = score.parts[0] if score.parts else score
        measures = []
        for m in part.getElementsByClass("Measure"):
            events = []
            for cs in m.getElementsByClass(harmony.ChordSymbol):
                figure = (cs.figure or "").split("/")[0]
                if not figure:
                    continue
                # Inversions fold to root position; music21 also misreads ABC slash basses such as "A/c+".
                chord = harmony.ChordSymbol(figure) if "/" in cs.figure else cs
                if chord.pitches:
                    events.append((float(cs.offset), roman_of(chord.root().pitchClass,
                                                              [p.pitchClass for p in chord.pitches], home)))
            full = float(m.barDuration.quarterLength)
            if float(m.duration.quarterLength) < full / 2:  # a pickup or a split repeat bar: only carry its chord
                carry = sorted(events)[-1][1] if events else carry
                continue
            measures.append((full, events))
        bars += _bars_from_events(measures, carry)
        carry = bars[-1][-1] if bars else carry
    return title, bars[:MAX_SEQUENCE_BARS], first_mode or "major"


def load_nottingham(folder: str | Path) -> list[ChordSequence]:
    """Every tune with chords in the Nottingham ``*.abc`` files under ``folder`` (genre folk, text = title)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.abc"))
    if not files:
        raise ToolError(f"No .abc files in {folder}; point to the Nottingham folder (ABC_cleaned).")
    out = []
    for path in files:
        for tune in _abc_tunes(path):
            number = re.match(r"X:\s*(\d+)", tune)
            try:
                title, bars, mode = parse_abc_tune(tune)
            except Exception:  # noqa: BLE001 - a tune music21 cannot read is skipped, not the corpus
                continue
            if len(bars) >= 4:
                out.append(ChordSequence("nottingham", f"{path.stem}#{number.group(1) if number else len(out)}",
                                         title, "folk", mode, "none", tuple(bars)))
    return out


# ---------------------------------------------------------------- music21 corpus: chorales and analyses

def chordified_bars(score) -> tuple[list[tuple[str, ...]], str]:
    """Bars of Roman numerals of a score's chordified texture, in its analysed key, and that key's mode."""
    key = _m21_key(score.analyze("key"))
    measures = []
    for m in score.chordify().getElementsByClass("Measure"):
        full = float(m.barDuration.quarterLength)
        if float(m.duration.quarterLength) < full / 2:
            continue
        events = [(float(c.offset), roman_of(c.root().pitchClass, c.pitchClasses, key))
                  for c in m.notes if len(set(c.pitchClasses)) >= 2]
        measures.append((full, events))
    return _bars_from_events(measures), key.mode


def load_bach_chorales(limit: int | None = None) -> list[ChordSequence]:
    """The music21 corpus's Bach chorales, chordified (genre "classical", text = title)."""
    from music21 import corpus

    out = []
    for name in list(corpus.chorales.Iterator(returnType="filename"))[:limit]:
        try:
            score = corpus.parse(name)
            bars, mode = chordified_bars(score)
        except Exception:  # noqa: BLE001
            continue
        title = (score.metadata.title if score.metadata else None) or name
        if len(bars) >= 4:
            out.append(ChordSequence("bach", str(name), title, "classical", mode, "none", tuple(bars)))
    return out


def romantext_bars(score) -> tuple[list[tuple[str, ...]], str]:
    """Bars of an analysed score's Roman numerals, each in its local key, and the first key's mode."""
    from music21 import roman

    part = score.parts[0] if score.parts else score
    measures, first_mode = [], None
    for m in part.getElementsByClass("Measure"):
        events = []
        for rn in m.getElementsByClass(roman.RomanNumeral):
            key = _m21_key(rn.key)
            first_mode = first_mode or key.mode
            events.append((float(rn.offset), roman_of(rn.root().pitchClass, rn.pitchClasses, key)))
        measures.append((float(m.barDuration.quarterLength), events))
    return _bars_from_events(measures), first_mode or "major"


def load_romantext(paths: Sequence[str | Path] | None = None) -> list[ChordSequence]:
    """Human Roman-numeral analyses (``.rntxt``); default: every one in the music21 corpus."""
    from music21 import converter, corpus

    if paths is None:
        paths = sorted(str(p) for p in corpus.getCorePaths() if str(p).endswith(".rntxt"))
    out = []
    for path in paths:
        try:
            score = converter.parse(str(path), format="romantext")
            bars, mode = romantext_bars(score)
        except Exception:  # noqa: BLE001
            continue
        title = (score.metadata.title if score.metadata else None) or Path(path).stem
        ident = "/".join(Path(path).parts[-2:])
        if len(bars) >= 4:
            out.append(ChordSequence("romantext", ident, title, "classical", mode, "none", tuple(bars)))
    return out


# ---------------------------------------------------------------- cached corpus

def _load_source(source: str, data_dir: Path) -> list[ChordSequence]:
    if source == "nottingham":
        return load_nottingham(data_dir / "nottingham")
    if source == "bach":
        return load_bach_chorales()
    if source == "romantext":
        return load_romantext()
    raise ToolError(f"Unknown chord source {source!r}; use one of {', '.join(SOURCES)}.")


def load_corpus(data_dir: str | Path, home: str | Path, *, sources: Sequence[str] = SOURCES,
                progress: bool = True) -> list[ChordSequence]:
    """The real progressions of ``sources``, parsed once and then read from ``<home>/cache``."""
    data_dir, cache = Path(data_dir).expanduser(), Path(home).expanduser() / "cache"
    out = []
    for source in sources:
        stamp = ""
        if source == "nottingham":
            files = sorted((data_dir / "nottingham").glob("*.abc"))
            stamp = hashlib.sha1("".join(f"{f.name}:{f.stat().st_size}" for f in files).encode()).hexdigest()[:10]
        path = cache / f"chords-{source}-v{CACHE_VERSION}{'-' + stamp if stamp else ''}.json"
        if path.exists():
            rows = json.loads(path.read_text(encoding="utf-8"))
        else:
            if progress:
                print(f"parsing {source} (once; cached in {path}) ...", flush=True)
            rows = [s.to_dict() for s in _load_source(source, data_dir)]
            atomic_write_text(path, json.dumps(rows))
        out += [ChordSequence.from_dict(r) for r in rows]
    return out
