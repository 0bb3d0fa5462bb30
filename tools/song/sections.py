"""A song cut into its played sections, each holding its own chords and melody (times relative to
the section's start), so sections can be moved, repeated, transposed or written anew and the song
joined again; :mod:`tools.song.revise` edits songs this way."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.errors import ToolError
from tools.music.harmony import (
    SCALES,
    ChordSpan,
    Key,
    parse_numeral,
    roman_to_chord,
)
from tools.music.score import Note
from tools.song.song import (
    Band,
    Song,
    SongSection,
)
from tools.songwriting.chord_rules import ChordGenerator
from tools.songwriting.melody import line_bars, melody_for_section

_LIFT = {"chorus": 3, "bridge": 1, "pre-chorus": 1}


# Parallel-mode chords: each degree's chord in the other mode, so "i VI III VII" in D minor becomes
# "I vi iii V" in D major (the harmonic rhythm and the functions stay; the colour changes).
_TO_MAJOR = {"i": "I", "ii": "ii", "III": "iii", "bIII": "iii", "iv": "IV", "IV": "IV", "v": "V", "V": "V",
             "VI": "vi", "bVI": "vi", "VII": "V", "bVII": "V", "vii": "vii"}


_TO_MINOR = {"I": "i", "ii": "iv", "iii": "III", "IV": "iv", "V": "V", "vi": "VI", "vii": "VII", "bVII": "VII",
             "bVI": "VI", "bIII": "III", "i": "i", "iv": "iv", "v": "v"}


@dataclass
class Block:
    """One played section with its own chords and melody, times relative to the section's start."""

    section: SongSection
    chords: list[ChordSpan]
    melody: list[Note]
    touched: set[str] = field(default_factory=set)   # "chords", "melody", "lyrics"


def split_sections(song: Song) -> list[Block]:
    bpb = song.score.beats_per_bar
    out = []
    for s in song.sections:
        lo, hi = s.start_bar * bpb, (s.start_bar + s.bars) * bpb
        out.append(Block(s, [c.shifted(-lo) for c in song.chords if lo <= c.start < hi],
                          [replace(n, start=n.start - lo) for n in song.melody if lo <= n.start < hi]))
    return out


def join_sections(blocks: list[Block], bpb: int) -> tuple[tuple[SongSection, ...], list[ChordSpan], list[Note]]:
    sections, chords, melody, bar = [], [], [], 0
    for b in blocks:
        s = b.section
        sections.append(replace(s, start_bar=bar, chords=tuple(c.chord.symbol for c in b.chords),
                                romans=tuple(c.roman for c in b.chords)))
        chords += [c.shifted(bar * bpb) for c in b.chords]
        melody += [replace(n, start=n.start + bar * bpb) for n in b.melody]
        bar += s.bars
    return tuple(sections), chords, melody


def matching(blocks: list[Block], song: Song, name: str) -> list[Block]:
    label = song.section(name).label   # ToolError names the sections the song has
    return [b for b in blocks if b.section.label == label]


def transpose(blocks: list[Block], old: Key, new: Key) -> None:
    """Move chords and melody to ``new``: the same degrees (parallel-mode chords when the mode changes)."""
    shift = (new.tonic_pc - old.tonic_pc) % 12
    shift = shift - 12 if shift > 6 else shift
    old_scale, new_scale = SCALES[old.mode], SCALES[new.mode]
    for b in blocks:
        b.chords = [ChordSpan(*_chord_in(c.roman, old.mode, new), c.start, c.beats) for c in b.chords]
        moved = []
        for n in b.melody:
            rel = (n.pitch - old.tonic_pc) % 12
            step = new_scale[old_scale.index(rel)] - rel if rel in old_scale else 0
            moved.append(replace(n, pitch=n.pitch + shift + step))
        b.melody = moved


def _chord_in(roman: str, old_mode: str, new: Key):
    if old_mode != new.mode and "/" not in roman:
        num = parse_numeral(roman)
        head = num.accidental + (num.roman.lower() if num.minor else num.roman)
        table = _TO_MAJOR if new.mode == "major" else _TO_MINOR
        if head in table:
            suffix = num.suffix.replace("°", "").replace("o", "") if table[head].islower() != num.minor else num.suffix
            for candidate in (table[head] + suffix, table[head]):
                try:
                    return roman_to_chord(candidate, new), candidate
                except ToolError:
                    continue
    return roman_to_chord(roman, new), roman


class SectionWriter:
    """Writes a section's chords (the chord generator) and its melody (one note per syllable over them):
    the song pipeline writes every section this way, a revision only the sections it changes."""

    def __init__(self, band: Band, generator: ChordGenerator, seed: int) -> None:
        self.arr = band.arrangement()
        self.generator, self.seed = generator, seed

    def bars_of(self, lines) -> tuple[int, ...]:
        """Bars each lyric line takes at this band's meter and phrase length."""
        return tuple(line_bars(ln.syllable_count, self.arr.beats_per_bar, self.arr.bars_per_line) for ln in lines)

    def chords(self, block: Block, last: bool, take: int) -> None:
        s = block.section
        spans = self.generator.progression(section=s.kind, bars=s.bars, key=self.arr.key, genre=self.arr.genre,
                                           mood=self.arr.mood, lyrics=list(s.lines),
                                           beats_per_bar=self.arr.beats_per_bar, cadence=last,
                                           seed=self.seed + 7919 * take)
        block.chords = list(spans)
        block.touched.add("chords")

    def melody(self, block: Block, lyric_lines, last_sung: bool, take: int) -> None:
        s = block.section
        if lyric_lines:
            syllables, bars_per = [ln.sung() for ln in lyric_lines], list(s.line_bars)
        elif s.kind == "solo":
            bars_per = [self.arr.bars_per_line] * max(1, s.bars // self.arr.bars_per_line)
            syllables = [[(None, None)] * (3 * b) for b in bars_per]
        else:
            block.melody = []
            return
        tag = f"{self.seed}|{s.kind}|{'/'.join(s.lines)}" + (f"|take {take}" if take else "")
        block.melody = melody_for_section(syllables, bars_per, block.chords, key=self.arr.key,
                                          beats_per_bar=self.arr.beats_per_bar, lift=_LIFT.get(s.kind, 0),
                                          end_on_tonic=last_sung, seed=tag)
        block.touched.add("melody")
