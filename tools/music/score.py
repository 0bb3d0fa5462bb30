"""The song as notes in time: the one score model that melody, arrangement and render share.

Times are in beats from the start of the song (a beat is the meter's beat, a
quarter note in 4/4 and 3/4), so the score is independent of tempo until it is
rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tools.music.harmony import ChordSpan, Key

Syllabic = Literal["single", "begin", "middle", "end"]


@dataclass(frozen=True)
class Note:
    """One note; melody notes carry the lyric syllable they sing."""

    pitch: int
    start: float
    duration: float
    velocity: int = 90
    lyric: str | None = None
    syllabic: Syllabic | None = None

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass
class Part:
    """One instrument's notes; ``program`` is a General MIDI program (0-127), ignored for drums.

    ``volume`` is the part's level in the mix (MIDI channel volume, 0-127).
    """

    name: str
    program: int
    notes: list[Note] = field(default_factory=list)
    is_drums: bool = False
    volume: int = 100


@dataclass(frozen=True)
class SectionMark:
    """Where a section (verse, chorus, intro...) starts, how many bars it lasts and,
    for sung sections, how many bars each lyric line takes."""

    label: str
    kind: str
    start_bar: int
    bars: int
    line_bars: tuple[int, ...] = ()


@dataclass
class Score:
    """A whole song: parts, chords, sections, tempo, meter and key.

    ``swing`` delays off-beat eighths: 0 is straight, 1/6 of a beat gives the
    triplet feel of jazz swing and blues shuffle.
    """

    title: str
    key: Key
    tempo: float
    beats_per_bar: int
    parts: list[Part]
    chords: list[ChordSpan] = field(default_factory=list)
    sections: list[SectionMark] = field(default_factory=list)
    swing: float = 0.0

    @property
    def melody(self) -> Part | None:
        """The part that carries the lyrics (named "melody"), if any."""
        return next((p for p in self.parts if p.name == "melody"), None)

    @property
    def duration_beats(self) -> float:
        ends = [n.end for p in self.parts for n in p.notes] + [c.end for c in self.chords]
        return max(ends, default=0.0)

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def duration_seconds(self) -> float:
        return self.duration_beats * self.seconds_per_beat

    def chord_at(self, beat: float) -> ChordSpan | None:
        """The chord sounding at ``beat``."""
        for span in self.chords:
            if span.start <= beat < span.end:
                return span
        return None
