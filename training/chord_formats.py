"""Chord progressions from public formats, read from a path: Chordonomicon's CSV and jazz charts
(iReal Pro links or plain ``| Dm7 G7 | Cmaj7 |`` charts). Keys the data does not give are estimated
from the chords (:func:`estimate_key`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from core.errors import ToolError
from tools.music.harmony import (
    QUALITIES,
    Chord,
    Key,
    chord_to_roman,
    parse_chord,
    parse_key,
)
from training.chord_data import MAX_SEQUENCE_BARS, ChordSequence


def _chord_from_text(symbol: str) -> Chord | None:
    """A chart's or data set's chord symbol, read by the one chord reader (:func:`tools.music.harmony.parse_chord`)
    and simplified to the chord models' plain qualities (G7b9 -> G7, Dm11 -> Dm7); the slash bass is dropped.
    None for N.C., repeat signs or anything unreadable.

    The formats' own spellings are translated first: Chordonomicon writes a sharp as ``s`` (``Fsmin7``),
    half-diminished as ``hdim7`` and a power chord as ``no3d``; iReal Pro writes half-diminished as ``h``.
    """
    text = re.sub(r"^([A-G])s(?!us)", r"\1#", symbol.strip().split("/")[0])
    text = re.sub(r"^([A-G][#b]?)h(dim)?7?", r"\1ø", text.replace("no3d", "5"))
    try:
        return parse_chord(text).simplified()
    except ToolError:
        return None


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
                chords = [c for c in (_chord_from_text(s) for s in part.split()) if c]
                if chords:
                    sections.append((section, chords))
            every = [c for _, chords in sections for c in chords]
            if not every:
                continue
            key = estimate_key(every)
            for i, (section, chords) in enumerate(sections):
                bars = tuple((chord_to_roman(c, key),) for c in chords)[:MAX_SEQUENCE_BARS]
                if len(bars) >= 2:
                    out.append(ChordSequence("chordonomicon", f"{row.get('id') or n}#{i}", "", genre if genre in GENRES else "pop",
                                             key.mode, _section_name(section), bars))
    return out


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
        bar = [_chord_from_text(s) for s in symbols if s not in ("p", "n", "x", "r", ",")]
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
        numerals = tuple(tuple(dict.fromkeys(chord_to_roman(c, key) for c in bar[:2])) for bar in bars)[:MAX_SEQUENCE_BARS]
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


