"""A song as data: the request, the band that plays it, its sections with their chords and melody, and
the files it was written to. ``song.json`` holds all of it, so a song can be read back
(:func:`load_song`) and revised (:mod:`tools.song.revise`) without writing it again.

Times are beats from the start of the song; the backing parts (comping, bass, drums) are
not stored: the band plays them again from the chords (:func:`assemble_score`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ToolError
from core.outputs import OutputFile
from tools.music.genres import GenreScore
from tools.music.harmony import ChordSpan, parse_chord
from tools.music.score import Note, Part, Score, SectionMark
from tools.songwriting.arrangement import (
    INSTRUMENTS,
    Arrangement,
    arrange,
    backing_parts,
)
from tools.songwriting.lyric_writing import LyricsBrief
from tools.songwriting.lyrics import Lyrics, LyricSection, make_line

SONG_FILE = "song.json"
MELODY_VOLUME = 110


@dataclass
class SongRequest:
    """What to write; only ``prompt`` (a theme) or ``lyrics`` is needed."""

    prompt: str = ""
    title: str | None = None
    artist: str | None = None
    genre: str | None = None
    subgenres: list[str] = field(default_factory=list)
    era: str | None = None
    mood: str | None = None
    key: str | None = None
    tempo: float | None = None
    length_seconds: float | None = None
    instruments: list[str] | None = None
    lyrics: str | None = None
    seed: int = 0

    def brief(self) -> LyricsBrief:
        """What the lyricist needs from this request."""
        return LyricsBrief(prompt=self.prompt, title=self.title, artist=self.artist, genre=self.genre,
                           subgenres=tuple(self.subgenres), era=self.era, mood=self.mood)


@dataclass(frozen=True)
class Band:
    """How the song is played: everything :func:`arrange` needs to play it the same way again."""

    genre: str
    mood: str | None
    key: str
    tempo: float
    instruments: tuple[str, ...] | None = None   # None: the genre's own line-up
    subgenres: tuple[str, ...] = ()
    seed: int = 0

    def arrangement(self) -> Arrangement:
        return arrange(self.genre, self.mood, key=self.key, tempo=self.tempo,
                       instruments=list(self.instruments) if self.instruments else None,
                       subgenres=self.subgenres, seed=self.seed)


@dataclass(frozen=True)
class SongSection:
    """One section as played: where it starts, its chords and the lyric lines sung in it."""

    label: str
    kind: str
    start_bar: int
    bars: int
    chords: tuple[str, ...]
    romans: tuple[str, ...]
    lines: tuple[str, ...]
    line_bars: tuple[int, ...] = ()

    @property
    def mark(self) -> SectionMark:
        return SectionMark(self.label, self.kind, self.start_bar, self.bars, self.line_bars)


@dataclass(frozen=True)
class Song:
    """A finished song: what it is, how it is played, which version it is and the files it was written to."""

    title: str
    artist: str | None
    request: SongRequest
    band: Band
    lyrics: Lyrics
    sections: tuple[SongSection, ...]
    score: Score = field(repr=False, compare=False)
    genre_scores: tuple[GenreScore, ...] = ()
    chord_generator: str = ""
    notes: tuple[str, ...] = ()
    version: int = 1
    previous: Path | None = None
    folder: Path | None = None
    files: tuple[OutputFile, ...] = ()
    duration_seconds: float = 0.0
    timings: tuple[tuple[str, float], ...] = ()

    # What the band says, read through: one source for each fact.
    key = property(lambda self: self.band.key)
    tempo = property(lambda self: self.band.tempo)
    genre = property(lambda self: self.band.genre)
    mood = property(lambda self: self.band.mood)
    seed = property(lambda self: self.band.seed)

    @property
    def meter(self) -> str:
        return f"{self.score.beats_per_bar}/4"

    @property
    def chords(self) -> tuple[ChordSpan, ...]:
        return tuple(self.score.chords)

    @property
    def melody(self) -> tuple[Note, ...]:
        return tuple(self.score.melody.notes) if self.score.melody else ()

    @property
    def instruments(self) -> tuple[str, ...]:
        """The instruments playing, melody first, as names."""
        return tuple(dict.fromkeys("drums" if p.is_drums else program_name(p.program) for p in self.score.parts))

    def section(self, name: str) -> SongSection:
        """The section called ``name`` ("chorus", "verse 2", "the bridge"); the first of its kind when the
        name gives no number. Raises ToolError naming the sections the song has."""
        wanted = " ".join(w for w in name.lower().replace("the ", " ").split())
        if wanted.startswith("last "):
            found = [s for s in self.sections if s.kind == wanted[5:] or s.label.lower() == wanted[5:]]
            if found:
                return found[-1]
        for s in self.sections:
            if s.label.lower() == wanted:
                return s
        for s in self.sections:
            if s.kind == wanted or s.label.lower().split()[0] == wanted:
                return s
        raise ToolError(f"The song has no {name}; its sections are {', '.join(s.label for s in self.sections)}.")

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to read the song back, as JSON-ready values."""
        return {
            "title": self.title, "artist": self.artist, "genre": self.genre, "mood": self.mood,
            "key": self.key, "tempo": self.tempo, "meter": self.meter, "seed": self.seed,
            "version": self.version, "previous": str(self.previous) if self.previous else None,
            "duration_seconds": round(self.duration_seconds, 2), "instruments": list(self.instruments),
            "genre_scores": [asdict(g) for g in self.genre_scores],
            "sections": [asdict(s) for s in self.sections],
            "lyrics": self.lyrics.to_dict(), "notes": list(self.notes),
            "folder": str(self.folder) if self.folder else None, "files": [f.to_dict() for f in self.files],
            "chord_generator": self.chord_generator,
            "request": asdict(self.request),
            "band": asdict(self.band),
            "chord_spans": [[s.chord.symbol, s.roman, s.start, s.beats] for s in self.chords],
            "melody": [[n.pitch, n.start, n.duration, n.velocity, n.lyric, n.syllabic] for n in self.melody],
        }

    def summary(self) -> str:
        """A few lines for a chat reply."""
        lines = [f'"{self.title}": {self.genre}, {self.key}, {self.tempo:g} BPM, {self.meter}, '
                 f"{self.duration_seconds:.0f} s, played by {', '.join(self.instruments)}."]
        lines += [f"{s.label}: {' '.join(s.chords)}" for s in self.sections if s.lines]
        return "\n".join([*lines, *self.notes])


def program_name(program: int) -> str:
    """An instrument name for a General MIDI program."""
    return next((name for name, p in INSTRUMENTS.items() if p == program), f"GM program {program}")


def assemble_score(title: str, band: Band, sections: tuple[SongSection, ...] | list[SongSection],
                   chords: list[ChordSpan], melody: list[Note]) -> Score:
    """The whole score: the melody, and the band's comping, bass and drums over the chords."""
    arr = band.arrangement()
    marks = [s.mark for s in sections]
    parts = [Part("melody", arr.melody_program, list(melody), volume=MELODY_VOLUME), *backing_parts(arr, chords, marks)]
    return Score(title=title, key=arr.key, tempo=arr.tempo, beats_per_bar=arr.beats_per_bar, parts=parts,
                 chords=list(chords), sections=marks, swing=arr.swing)


def lyrics_from_dict(data: dict[str, Any]) -> Lyrics:
    """:meth:`Lyrics.to_dict` read back (syllables are counted again from the text)."""
    return Lyrics(title=data["title"], sections=tuple(
        LyricSection(kind=s["kind"], label=s["label"], lines=tuple(make_line(ln["text"]) for ln in s["lines"]))
        for s in data["sections"]))


def load_song(folder: str | Path) -> Song:
    """The song in ``folder`` (its song.json), with its score played again. Raises ToolError for a folder
    bandmate did not write."""
    folder = Path(folder).expanduser()
    path = folder / SONG_FILE
    if not path.is_file():
        raise ToolError(f"{folder} has no {SONG_FILE}; give the folder of a song bandmate wrote.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        band = Band(**{**data["band"], "instruments": tuple(data["band"]["instruments"] or ()) or None,
                       "subgenres": tuple(data["band"]["subgenres"])})
        sections = tuple(SongSection(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.items()})
                         for s in data["sections"])
        chords = [ChordSpan(parse_chord(sym), roman, start, beats) for sym, roman, start, beats in data["chord_spans"]]
        melody = [Note(p, s, d, v, lyric, syl) for p, s, d, v, lyric, syl in data["melody"]]
        score = assemble_score(data["title"], band, sections, chords, melody)
        return Song(
            title=data["title"], artist=data["artist"], request=SongRequest(**data["request"]), band=band,
            lyrics=lyrics_from_dict(data["lyrics"]), sections=sections, score=score,
            genre_scores=tuple(GenreScore(**g) for g in data["genre_scores"]),
            chord_generator=data.get("chord_generator", ""), notes=tuple(data["notes"]),
            version=data.get("version", 1), previous=Path(data["previous"]) if data.get("previous") else None,
            folder=folder, files=tuple(OutputFile(Path(f["path"]), f["kind"], f.get("description", ""))
                                       for f in data["files"]),
            duration_seconds=data["duration_seconds"],
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"{path} is not a song file this version of bandmate can read ({type(exc).__name__}); "
                        "compose the song again.") from exc
