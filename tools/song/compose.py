"""The songwriting pipeline: a request in, a finished song (lyrics, chords, melody, arrangement, files) out.

Stages, each usable alone: lyrics (:mod:`tools.songwriting.lyrics`), genre
(:mod:`tools.songwriting.genre`), chords (:mod:`tools.songwriting.chord_rules`), melody
(:mod:`tools.songwriting.melody`), arrangement (:mod:`tools.songwriting.arrangement`) and render
(:mod:`tools.rendering.render`, :mod:`tools.rendering.leadsheet`, :mod:`tools.rendering.synth`).
Everything after the lyrics is deterministic: the same request and seed give
a byte-identical MIDI file.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ToolError
from core.files import ensure_writable_dir
from core.outputs import OutputFile
from core.textgen import TextGenerator
from tools.music.genres import GenreScore
from tools.music.harmony import ChordSpan, parse_key
from tools.music.score import Note, Part, Score, SectionMark
from tools.rendering.leadsheet import write_musicxml
from tools.rendering.midi import write_midi
from tools.rendering.pictures import piano_roll_png, score_roll
from tools.rendering.render import (
    chord_chart,
    describe,
    short_hash,
    slug,
    staged_folder,
)
from tools.rendering.synth import start_wav_render
from tools.songwriting.arrangement import (
    INSTRUMENTS,
    Arrangement,
    arrange,
    backing_parts,
    check_tempo,
    resolve_instrument,
)
from tools.songwriting.chord_rules import ChordGenerator
from tools.songwriting.chords import default_chord_generator
from tools.songwriting.genre import classify_genre, resolve_genre
from tools.songwriting.lyrics import (
    DEFAULT_STRUCTURE,
    Lyrics,
    LyricSection,
    parse_lyrics,
    write_lyrics,
)
from tools.songwriting.melody import line_bars, melody_for_section

DEFAULT_LENGTH = (60.0, 90.0)   # seconds, when the request does not say
MIN_LENGTH, MAX_LENGTH = 10.0, 600.0
_LIFT = {"chorus": 3, "bridge": 1, "pre-chorus": 1}


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


@dataclass(frozen=True)
class Song:
    """A finished song: what it is, how it is played and the files it was written to."""

    title: str
    artist: str | None
    lyrics: Lyrics
    sections: tuple[SongSection, ...]
    chords: tuple[ChordSpan, ...]
    key: str
    tempo: float
    meter: str
    genre: str
    genre_scores: tuple[GenreScore, ...]
    mood: str | None
    instruments: tuple[str, ...]
    duration_seconds: float
    seed: int
    folder: Path
    files: tuple[OutputFile, ...]
    notes: tuple[str, ...]
    timings: tuple[tuple[str, float], ...]
    score: Score = field(repr=False, compare=False)
    chord_generator: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Everything but the score, as JSON-ready values."""
        return {
            "title": self.title, "artist": self.artist, "genre": self.genre, "mood": self.mood,
            "key": self.key, "tempo": self.tempo, "meter": self.meter, "seed": self.seed,
            "duration_seconds": round(self.duration_seconds, 2), "instruments": list(self.instruments),
            "genre_scores": [asdict(g) for g in self.genre_scores],
            "sections": [asdict(s) for s in self.sections],
            "lyrics": self.lyrics.to_dict(), "notes": list(self.notes),
            "folder": str(self.folder), "files": [f.to_dict() for f in self.files],
            "chord_generator": self.chord_generator,
        }

    def summary(self) -> str:
        """A few lines for a chat reply."""
        lines = [f'"{self.title}": {self.genre}, {self.key}, {self.tempo:g} BPM, {self.meter}, '
                 f"{self.duration_seconds:.0f} s, played by {', '.join(self.instruments)}."]
        lines += [f"{s.label}: {' '.join(s.chords)}" for s in self.sections if s.lines]
        return "\n".join([*lines, *self.notes])


@dataclass
class _Planned:
    """A section being planned: lyric lines (or none for instrumental), bars per line."""

    label: str
    kind: str
    lines: tuple
    line_bars: list[int]
    instrumental_bars: int = 0

    @property
    def bars(self) -> int:
        return sum(self.line_bars) if self.lines else self.instrumental_bars


def _validate(request: SongRequest, llm: TextGenerator | None) -> None:
    """Catch every user error before the (slow) lyrics step."""
    if not request.lyrics and llm is None:
        raise ToolError("No language model is configured to write lyrics; configure one or give the lyrics yourself.")
    if not (request.prompt or request.title or request.lyrics):
        raise ToolError("Tell me what the song is about (a theme or a title), or give the lyrics.")
    if request.tempo is not None:
        check_tempo(request.tempo)
    if request.key:
        parse_key(request.key)
    for name in request.instruments or []:
        if name.lower().strip() not in ("drums", "drum", "drum kit", "percussion", "beat"):
            resolve_instrument(name)
    if request.length_seconds is not None and not (MIN_LENGTH <= request.length_seconds <= MAX_LENGTH):
        raise ToolError(f"A length of {request.length_seconds:g} s is out of range; choose between 10 seconds and 10 minutes.")


def _plan(lyrics: Lyrics, arr: Arrangement, length: float | None, sing_everything: bool
          ) -> tuple[list[_Planned], list[str]]:
    """Sections in playing order (intro, lyrics, outro), trimmed or extended to the requested length.

    Without a length the song lasts 60-90 s (or, for lyrics the user wrote,
    at least 60 s with every line sung): later sections are left out of a long
    song, a short one gets another chorus and an instrumental solo.
    """
    bpb, base = arr.beats_per_bar, arr.bars_per_line
    bar_seconds = bpb * 60.0 / arr.tempo
    if length:
        low, high = length, length
    else:
        low, high = DEFAULT_LENGTH[0], (math.inf if sing_everything else DEFAULT_LENGTH[1])

    def planned(section: LyricSection) -> _Planned:
        return _Planned(section.label, section.kind, section.lines,
                        [line_bars(ln.syllable_count, bpb, base) for ln in section.lines])

    body = [planned(s) for s in lyrics.sections]
    intro_bars, outro_min, outro_max = base, base, 2 * base

    def seconds(outro: int) -> float:
        return (intro_bars + sum(p.bars for p in body) + outro) * bar_seconds

    while seconds(outro_min) > high + bar_seconds and len(body) > 1:
        body.pop()
    # A shortened song still ends on its chorus, not halfway through a verse or the bridge.
    shortened = len(body) < len(lyrics.sections)
    while shortened and len(body) > 1 and body[-1].kind != "chorus" and any(p.kind == "chorus" for p in body):
        body.pop()
    only, cut_lines = body[0], 0
    while seconds(outro_min) > high + bar_seconds and len(only.lines) > 1 and len(body) == 1:
        only.lines, only.line_bars = only.lines[:-1], only.line_bars[:-1]
        cut_lines += 1

    chorus = next((p for p in body if p.kind == "chorus"), body[0])
    for added in range(24):
        gap = low / bar_seconds - (intro_bars + sum(p.bars for p in body) + outro_min)  # bars missing
        if gap <= outro_max - outro_min:
            break  # the outro takes up the rest
        if added % 2 == 0 and chorus.bars <= gap:
            body.append(_Planned(chorus.label, chorus.kind, chorus.lines, list(chorus.line_bars)))
            continue
        bars = base * max(1, min(4, int(gap // base)))
        if len(body) > 1 and body[-2].kind == "solo":
            body[-2].instrumental_bars += bars
        else:  # an instrumental break before the last chorus
            body.insert(len(body) - 1, _Planned("Solo", "solo", (), [], instrumental_bars=bars))
    kept = {p.label for p in body}
    missing = list(dict.fromkeys(s.label for s in lyrics.sections if s.label not in kept))
    missing += [f"the last {cut_lines} line{'s' if cut_lines > 1 else ''} of {only.label}"] if cut_lines else []
    notes = [f"To fit about {high:.0f} s I left out {', '.join(missing)}; ask for a longer song to hear all the lyrics."
             ] if missing else []
    target = length if length else min(max(seconds(outro_min), low), high)
    target_bars = round(target / bar_seconds) if length else math.ceil(target / bar_seconds - 1e-9)
    outro = max(outro_min, target_bars - intro_bars - sum(p.bars for p in body))
    intro = _Planned("Intro", "intro", (), [], instrumental_bars=intro_bars)
    return [intro, *body, _Planned("Outro", "outro", (), [], instrumental_bars=outro)], notes


def _structure_for(length: float | None) -> tuple[str, ...]:
    """Sections to ask the LLM for: enough lyrics for the length, not a page to throw away."""
    if length is not None and length <= 45:
        return ("Verse 1", "Chorus")
    if length is None or length <= 100:
        return ("Verse 1", "Chorus", "Verse 2", "Chorus")
    return DEFAULT_STRUCTURE


def compose_song(
    request: SongRequest,
    *,
    llm: TextGenerator | None,
    out_dir: str | Path,
    render_audio: bool = True,
    chord_generator: ChordGenerator | None = None,
    soundfont: str | Path | None = None,
) -> Song:
    """Write a whole song for ``request`` and render it into a new folder inside ``out_dir``.

    The lyrics come from ``request.lyrics`` or from ``llm``; the genre from the
    request (mapped to the closest supported one) or from the lyrics. Raises
    ToolError for anything the user can fix: no LLM and no lyrics, a tempo
    outside 30-300 BPM, an unknown key or instrument, a folder that cannot be
    written, missing fluidsynth or soundfont.
    """
    _validate(request, llm)
    ensure_writable_dir(out_dir)
    timings: list[tuple[str, float]] = []
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings.append((stage, now - clock))
        clock = now

    if request.lyrics:
        lyrics = parse_lyrics(request.lyrics, title=request.title)
    else:
        lyrics = write_lyrics(request, llm, seed=request.seed,  # type: ignore[arg-type]
                              structure=_structure_for(request.length_seconds))
    lap("lyrics")

    notes: list[str] = []
    scores: tuple[GenreScore, ...] = ()
    if request.genre:
        match = resolve_genre(request.genre)
        genre = match.genre
        if match.note:
            notes.append(match.note)
    else:
        scores = tuple(classify_genre(lyrics.text()))
        genre = scores[0].genre
        notes.append(f"The lyrics sound most like {genre} ({scores[0].score:.0%}), so I arranged it as {genre}.")
    lap("genre")

    arr = arrange(genre, request.mood, key=request.key, tempo=request.tempo, instruments=request.instruments,
                  subgenres=request.subgenres, seed=request.seed)
    notes += arr.notes
    plan, plan_notes = _plan(lyrics, arr, request.length_seconds, sing_everything=bool(request.lyrics))
    notes += plan_notes
    chord_generator = chord_generator or default_chord_generator()
    score, sections = _build_score(lyrics.title, plan, arr, chord_generator, request.seed)
    lap("chords, melody, arrangement")

    instruments = tuple(_program_name(p.program) if not p.is_drums else "drums" for p in score.parts)
    name = slug(lyrics.title) + "-" + short_hash(json.dumps(asdict(request), sort_keys=True), genre, lyrics.text())
    with staged_folder(out_dir, name) as (tmp, final):
        write_midi(score, tmp / "song.mid")
        lap("midi")
        # fluidsynth renders on the other core while the lead sheet and pictures are written here.
        wav_job = start_wav_render(tmp / "song.mid", tmp / "song.wav", ogg_path=tmp / "song.ogg",
                                   max_seconds=score.duration_seconds, soundfont=soundfont) if render_audio else None
        try:
            write_musicxml(score, tmp / "lead-sheet.musicxml", composer=request.artist)
            lap("musicxml")
            header = [f"Genre: {genre}" + (f"   Mood: {request.mood}" if request.mood else "")]
            (tmp / "chords.txt").write_text(chord_chart(score, header), encoding="utf-8")
            (tmp / "lyrics.txt").write_text(f"{lyrics.title}\n\n{lyrics.text()}\n", encoding="utf-8")
            marks = [(s.start_bar * score.beats_per_bar * score.seconds_per_beat, s.label) for s in score.sections]
            piano_roll_png(score_roll(score), tmp / "piano-roll.png",
                           title=f"{lyrics.title} ({genre}, {arr.key}, {arr.tempo:g} BPM)", marks=marks)
            lap("chart, piano roll")
            duration = score.duration_seconds
            if wav_job:
                duration = wav_job.wait()
                lap("wav + ogg (rest of render)")
        finally:
            if wav_job:
                wav_job.cancel()
        produced = sorted(p.name for p in tmp.iterdir()) + ["song.json"]
        song = Song(
            title=lyrics.title, artist=request.artist, lyrics=lyrics, sections=tuple(sections),
            chords=tuple(score.chords), key=str(arr.key), tempo=arr.tempo, meter=f"{arr.beats_per_bar}/4",
            genre=genre, genre_scores=scores, mood=request.mood, instruments=instruments,
            duration_seconds=duration, seed=request.seed, folder=final,
            files=tuple(OutputFile.of(final / n, describe(n)) for n in produced),
            notes=tuple(notes), timings=tuple(timings), score=score, chord_generator=chord_generator.name,
        )
        (tmp / "song.json").write_text(json.dumps(song.to_dict(), indent=2), encoding="utf-8")
    return song


def _build_score(title: str, plan: list[_Planned], arr: Arrangement, generator: ChordGenerator, seed: int
                 ) -> tuple[Score, list[SongSection]]:
    """Chords for every section, the melody over them, then the band."""
    bpb = arr.beats_per_bar
    chords: list[ChordSpan] = []
    melody: list[Note] = []
    marks: list[SectionMark] = []
    sections: list[SongSection] = []
    last_lyric = max((i for i, p in enumerate(plan) if p.lines), default=-1)
    bar = 0
    for index, planned in enumerate(plan):
        lyric_lines = [ln.text for ln in planned.lines]
        spans = generator.progression(section=planned.kind, bars=planned.bars, key=arr.key, genre=arr.genre,
                                      mood=arr.mood, lyrics=lyric_lines, beats_per_bar=bpb,
                                      cadence=index == len(plan) - 1, seed=seed)
        start = bar * bpb
        if planned.lines or planned.kind == "solo":
            if planned.lines:
                syllables = [ln.sung() for ln in planned.lines]
                bars_per = planned.line_bars
            else:  # the lead instrument plays a tune without words
                bars_per = [arr.bars_per_line] * max(1, planned.bars // arr.bars_per_line)
                syllables = [[(None, None)] * (3 * b) for b in bars_per]
            melody += melody_for_section(
                syllables, bars_per, spans, key=arr.key, beats_per_bar=bpb, start_beat=start,
                lift=_LIFT.get(planned.kind, 0), end_on_tonic=index == last_lyric,
                seed=f"{seed}|{planned.kind}|{'/'.join(lyric_lines)}")
        chords += [s.shifted(start) for s in spans]
        marks.append(SectionMark(planned.label, planned.kind, bar, planned.bars, tuple(planned.line_bars)))
        sections.append(SongSection(planned.label, planned.kind, bar, planned.bars,
                                    tuple(s.chord.symbol for s in spans), tuple(s.roman for s in spans),
                                    tuple(lyric_lines)))
        bar += planned.bars
    parts = [Part("melody", arr.melody_program, melody, volume=110), *backing_parts(arr, chords, marks)]
    score = Score(title=title, key=arr.key, tempo=arr.tempo, beats_per_bar=bpb, parts=parts,
                  chords=chords, sections=marks, swing=arr.swing)
    return score, sections


def _program_name(program: int) -> str:
    return next((name for name, p in INSTRUMENTS.items() if p == program), f"GM program {program}")
