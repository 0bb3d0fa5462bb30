"""Chord progressions from real corpora, as key-relative Roman numerals bar by bar, with a fixed split.

Sources (all offline):

- ``nottingham``: the Nottingham folk tunes (ABC, chord symbols in quotes), parsed with music21;
  the text is the tune's title, the genre folk.
- ``bach``: the 371 Bach chorales of the music21 corpus, ``chordify``-ed and named in the key
  music21 analyses; text = title, genre "classical".
- ``romantext``: the music21 corpus's human Roman-numeral analyses (Bach chorales, Monteverdi
  madrigals), read in their local keys; genre "classical".
- :func:`load_chordonomicon` and :func:`load_jazz_text` read those public formats from a path.
- :func:`synthetic_sequences`: progressions sampled from the rule-based genre templates, a
  clearly labelled supplement for the genres no real corpus here covers.

Every bar keeps at most two chords: the one sounding on the downbeat and the one sounding
half-way through the bar (when it differs). Inversions are folded to root position. Parsing
chordified chorales takes minutes, so each source is cached as JSON under ``<home>/cache``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
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

SOURCES = ("nottingham", "bach", "romantext")
CACHE_VERSION = 2
VALIDATION_SHARE = 10          # one sequence in ten, chosen by a hash of its id: the same split everywhere
MAX_BARS = 64


@dataclass(frozen=True)
class ChordSequence:
    """One progression: Roman numerals bar by bar (one or two per bar) and what it is conditioned on."""

    source: str
    id: str
    text: str                           # lyrics, or the title where the corpus has no lyrics
    genre: str
    mode: str                           # "major" or "minor": the key the numerals are relative to
    section: str                        # "verse", "chorus"... or "none" where the corpus does not say
    bars: tuple[tuple[str, ...], ...]

    @property
    def fold(self) -> int:
        """Which of :data:`VALIDATION_SHARE` folds the sequence is in, by a hash of source and id."""
        return int(hashlib.sha1(f"{self.source}:{self.id}".encode()).hexdigest(), 16) % VALIDATION_SHARE

    @property
    def split(self) -> str:
        """``"validation"`` for fold 0, a fixed tenth of the sequences, else ``"train"``."""
        return "validation" if self.fold == 0 else "train"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict) -> "ChordSequence":
        return cls(**{**row, "bars": tuple(tuple(b) for b in row["bars"])})


@dataclass(frozen=True)
class _HeldOut(ChordSequence):
    held_out: int = 0

    @property
    def split(self) -> str:
        return "validation" if self.fold == self.held_out else "train"

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "held_out"}


def holding_out(sequences: Iterable[ChordSequence], fold: int) -> list[ChordSequence]:
    """The sequences split so that ``fold`` is the validation split and the other folds are train: one
    round of a cross-validation. Fold 0 is the fixed split the shipped checkpoints use."""
    if not 0 <= fold < VALIDATION_SHARE:
        raise ValueError(f"fold {fold} does not exist; choose 0 to {VALIDATION_SHARE - 1}.")
    names = [f.name for f in dataclass_fields(ChordSequence)]
    return [_HeldOut(**{k: getattr(s, k) for k in names}, held_out=fold) for s in sequences]


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
    return bars[:MAX_BARS]


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
    return title, bars[:MAX_BARS], first_mode or "major"


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


# ---------------------------------------------------------------- public formats, from a path

_CHORDONOMICON_QUALITY = {"": "maj", "min": "min", "m": "min", "dim": "dim", "aug": "aug", "7": "7",
                          "maj7": "maj7", "min7": "m7", "m7": "m7", "hdim7": "m7b5", "m7b5": "m7b5",
                          "dim7": "dim7", "sus2": "sus2", "sus4": "sus4", "sus": "sus4", "6": "6",
                          "min6": "m6", "m6": "m6", "9": "9", "5": "5", "no3d": "5", "maj": "maj"}


def _chord_from_text(symbol: str, qualities: dict[str, str]) -> Chord | None:
    """'Fsmin7', 'Bb7', 'C#m', 'G/B' (s = sharp, slash bass dropped) -> Chord, or None."""
    match = re.fullmatch(r"([A-G])(s|#|b)?([^/]*)(?:/.*)?", symbol.strip())
    if not match:
        return None
    quality = qualities.get(match.group(3))
    if quality is None:
        return None
    accidental = {"s": "#", "#": "#", "b": "b"}.get(match.group(2) or "", "")
    return Chord(match.group(1) + accidental, quality)


def estimate_key(chords: Sequence[Chord]) -> Key:
    """The key whose Krumhansl-Kessler profile best fits the chords' tones, with a bonus for the first and last chord."""
    import numpy as np

    from tools.listening.analyze import KEYS, ks_scores

    if not chords:
        raise ToolError("There are no chords to find a key for.")
    chroma = np.zeros(12)
    for chord in chords:
        for pc in chord.pitch_classes:
            chroma[pc] += 1
    scores = ks_scores(chroma)
    for i, name in enumerate(KEYS):
        key = parse_key(name)
        for chord in (chords[0], chords[-1]):
            tonic_quality = "min" if key.mode == "minor" else "maj"
            if chord.root_pc == key.tonic_pc and QUALITIES[chord.quality].minor_case == (tonic_quality == "min"):
                scores[i] += 0.1
    return parse_key(KEYS[int(np.argmax(scores))])


def load_chordonomicon(path: str | Path, *, limit: int | None = None) -> list[ChordSequence]:
    """Chordonomicon's CSV (columns ``id``, ``chords`` with ``<verse_1>`` section tags, ``main_genre``):
    one sequence per section, one chord per bar (the data set has no bar lines), key estimated per song."""
    from tools.music.genres import GENRES
    from tools.songwriting.genre import resolve_genre

    path = _existing(path)
    out: list[ChordSequence] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        _require_columns(reader.fieldnames, ("chords",), path)
        for n, row in enumerate(reader):
            if limit is not None and n >= limit:
                break
            parts = re.split(r"(<[^>]+>)", row["chords"] or "")
            raw_genre = (row.get("main_genre") or "").strip()
            genre = resolve_genre(raw_genre, use_encoder=False).genre if raw_genre else "pop"
            sections, section = [], "none"
            for part in parts:
                tag = re.fullmatch(r"<([a-z-]+?)(?:_\d+)?>", part.strip())
                if tag:
                    section = tag.group(1)
                    continue
                chords = [c for c in (_chord_from_text(s, _CHORDONOMICON_QUALITY) for s in part.split()) if c]
                if chords:
                    sections.append((section, chords))
            every = [c for _, chords in sections for c in chords]
            if not every:
                continue
            key = estimate_key(every)
            for i, (section, chords) in enumerate(sections):
                bars = tuple((chord_to_roman(c, key),) for c in chords)[:MAX_BARS]
                if len(bars) >= 2:
                    out.append(ChordSequence("chordonomicon", f"{row.get('id') or n}#{i}", "", genre if genre in GENRES else "pop",
                                             key.mode, _section_name(section), bars))
    return out


_IREAL_QUALITY = {"": "maj", "-": "min", "^": "maj7", "^7": "maj7", "-7": "m7", "7": "7", "h": "m7b5",
                  "h7": "m7b5", "o": "dim", "o7": "dim7", "+": "aug", "sus": "sus4", "7sus": "sus4", "6": "6",
                  "-6": "m6", "9": "9", "m": "min", "m7": "m7", "maj7": "maj7", "dim": "dim", "dim7": "dim7",
                  "m7b5": "m7b5", "ø": "m7b5", "ø7": "m7b5", "M7": "maj7", "5": "5", "sus4": "sus4", "sus2": "sus2",
                  "aug": "aug", "m6": "m6", "7b9": "7", "7#9": "7", "7b5": "7", "7#5": "7", "13": "7", "-9": "m7",
                  "^9": "maj7", "69": "6", "-11": "m7", "7alt": "7", "9sus": "sus4", "11": "7", "-^7": "min"}


def _ireal_unscramble(text: str) -> str:
    """Undo iReal Pro's ``irealb://`` obfuscation (a symmetric shuffle of 50-character blocks)."""
    def block(s: str) -> str:
        chars = list(s)
        for lo, hi in ((0, 5), (10, 24)):
            for i in range(lo, hi):
                chars[i], chars[49 - i] = s[49 - i], s[i]
        return "".join(chars)

    out = ""
    while len(text) > 50:
        piece, text = text[:50], text[50:]
        out += piece if len(text) < 2 else block(piece)
    return out + text


def _jazz_bars(chart: str) -> list[list[Chord | None]]:
    """Bars of chords from a chart like ``| Dm7 G7 | C^7 |`` or an iReal progression string."""
    chart = re.sub(r"\*[A-Za-z]|T\d\d|<[^>]*>|\([^)]*\)|N\d|[QSYUfls]", " ", chart)
    bars, previous = [], None
    for cell in re.split(r"[|\[\]{}Z]+", chart):
        symbols = cell.split()
        if not symbols:
            continue
        if symbols == ["x"] or symbols == ["%"]:
            if previous:
                bars.append(previous)
            continue
        bar = [_chord_from_text(s.split("/")[0], _IREAL_QUALITY) for s in symbols if s not in ("p", "n", "x", "r", ",")]
        if bar:
            bars.append(bar)
            previous = bar
    return bars


def load_jazz_text(path: str | Path) -> list[ChordSequence]:
    """Jazz charts from a text file: iReal Pro ``irealb://``/``irealbook://`` links, or plain charts
    (``Title: ...``, optional ``Key: ...``, then bars like ``| Dm7 G7 | Cmaj7 |``) separated by blank lines."""
    from urllib.parse import unquote

    text = _existing(path).read_text(encoding="utf-8", errors="replace")
    tunes: list[tuple[str, str | None, str]] = []   # title, key, chart
    for link in re.findall(r"ireal(?:b|book)://[^\s\"'<>]+", text):
        fields = unquote(link.split("://", 1)[1]).split("=")
        scrambled = link.startswith("irealb://")
        for i in range(0, len(fields) - 6, 1):
            if scrambled and fields[i + 6].startswith("1r34LbKcu7"):
                chart = _ireal_unscramble(fields[i + 6][len("1r34LbKcu7"):])
                chart = chart.replace("XyQ", "   ").replace("LZ", " |").replace("Kcl", "| x")
                tunes.append((fields[i], fields[i + 4] or None, chart))
            elif not scrambled and i + 5 < len(fields) and "|" in fields[i + 5]:
                tunes.append((fields[i], fields[i + 3] or None, fields[i + 5]))
    if not tunes:
        for block in re.split(r"\n\s*\n", text):
            title = (re.search(r"^Title:\s*(.+)$", block, re.M | re.I) or [None, ""])[1].strip()
            key = re.search(r"^Key:\s*(.+)$", block, re.M | re.I)
            chart = " ".join(ln for ln in block.splitlines() if "|" in ln)
            if chart:
                tunes.append((title, key.group(1).strip() if key else None, chart))
    out = []
    for n, (title, key_text, chart) in enumerate(tunes):
        bars = [[c for c in bar if c] for bar in _jazz_bars(chart)]
        bars = [bar for bar in bars if bar]
        if len(bars) < 2:
            continue
        try:
            key = parse_key(key_text.replace("-", "m")) if key_text else estimate_key([c for b in bars for c in b])
        except ToolError:
            key = estimate_key([c for b in bars for c in b])
        numerals = tuple(tuple(dict.fromkeys(chord_to_roman(c, key) for c in bar[:2])) for bar in bars)[:MAX_BARS]
        out.append(ChordSequence("jazz", f"{Path(path).name}#{n}", title, "jazz", key.mode, "none", numerals))
    return out


def _section_name(tag: str) -> str:
    tag = tag.lower()
    for name in ("pre-chorus", "chorus", "verse", "bridge", "intro", "outro", "solo"):
        if name.replace("-", "") in tag.replace("-", "").replace("_", ""):
            return name
    return "none"


def _existing(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ToolError(f"{path} does not exist or is not a file; give the path of the data file.")
    return path


def _require_columns(found: Sequence[str] | None, needed: Sequence[str], path: Path) -> None:
    missing = [c for c in needed if c not in (found or [])]
    if missing:
        raise ToolError(f"{path.name} has no column {', '.join(repr(c) for c in missing)}; "
                        f"its columns are {', '.join(found or []) or 'none'}.")


# ---------------------------------------------------------------- the synthetic supplement

def synthetic_sequences(per_pool: int = 6, seed: int = 0) -> list[ChordSequence]:
    """Progressions sampled from :class:`tools.songwriting.chord_rules.RuleBasedChordGenerator`'s genre templates.

    For every genre, mode and section pool: ``per_pool`` draws over seeds, lengths (4, 8, 12
    bars; blues mostly 12, its own form) and moods; the text is one of the genre's descriptions.
    Source ``"synthetic"``. Every genre comes at every length the model is told, short ones included:
    a genre seen only at 12 bars would lose its sound in an 8-bar request.
    """
    from tools.music.genres import GENRES, genre_descriptions
    from tools.songwriting.chord_rules import RuleBasedChordGenerator, section_templates

    generator, out = RuleBasedChordGenerator(), []
    descriptions = genre_descriptions()
    for genre in GENRES:
        for mode in ("major", "minor"):
            key = Key("C", "major") if mode == "major" else Key("A", "minor")
            for section in section_templates(genre, mode):
                for i in range(per_pool):
                    s = seed * 1000 + i
                    bars = (4, 8, 12)[i % 3] if genre != "blues" else (12, 8, 12, 4)[i % 4]
                    mood = (None, "sad", "happy")[i % 3]
                    romans = generator.romans(section=section, bars=bars, key=key, genre=genre, mood=mood, seed=s)
                    text = descriptions[genre][i % len(descriptions[genre])]
                    out.append(ChordSequence("synthetic", f"{genre}/{mode}/{section}/{i}/{seed}", text, genre, mode,
                                             section, tuple(tuple(b) for b in romans)))
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


def data_hash(sequences: Sequence[ChordSequence]) -> str:
    """A short hash of the training data (stored in checkpoints)."""
    digest = hashlib.sha256()
    for s in sequences:
        digest.update(json.dumps(s.to_dict(), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def describe_mix(sequences: Sequence[ChordSequence]) -> dict[str, dict[str, int]]:
    """Sequences and bars per source (and split), for reports and checkpoints."""
    mix: dict[str, dict[str, int]] = {}
    for s in sequences:
        row = mix.setdefault(s.source, {"train": 0, "validation": 0, "bars": 0})
        row[s.split] += 1
        row["bars"] += len(s.bars)
    return mix

