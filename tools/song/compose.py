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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.errors import ToolError
from core.files import ensure_writable_dir
from core.textgen import TextGenerator
from tools.music.genres import GenreScore
from tools.music.harmony import ChordSpan, parse_key
from tools.music.score import Note
from tools.rendering.render import short_hash, slug
from tools.song.folder import Stopwatch, write_song
from tools.song.sections import Block, SectionWriter, join_sections
from tools.song.song import Band, Song, SongRequest, SongSection, assemble_score
from tools.songwriting.arrangement import (
    Arrangement,
    arrange,
    check_tempo,
    resolve_instrument,
)
from tools.songwriting.chord_rules import ChordGenerator
from tools.songwriting.chords import default_chord_generator
from tools.songwriting.genre import genre_from_request, guess_genre, resolve_genre
from tools.songwriting.lyric_writing import DEFAULT_STRUCTURE, Method, write_lyrics
from tools.songwriting.lyrics import (
    Lyrics,
    LyricSection,
    check_lyrics_size,
    parse_lyrics,
)
from tools.songwriting.melody import line_bars

# Seconds: without a length, a song whose lyrics sing for less gets another chorus and a solo. Lyrics
# bandmate wrote make a full-length song; lyrics a user gave are their song, filled out only to a minute.
DEFAULT_MIN_LENGTH = 150.0
GIVEN_LYRICS_MIN_LENGTH = 60.0
MIN_LENGTH, MAX_LENGTH = 10.0, 600.0


@dataclass
class _Planned:
    """A section being planned: lyric lines (or none for instrumental), bars per line."""

    label: str
    kind: str
    lines: tuple
    line_bars: list[int]
    instrumental_bars: int = 0
    index: int = -1   # which section of the lyrics it sings (-1: none, or a repeat added to fill time)

    @property
    def bars(self) -> int:
        return sum(self.line_bars) if self.lines else self.instrumental_bars


def _validate(request: SongRequest, llm: TextGenerator | None) -> None:
    """Catch every user error before the (slow) lyrics step."""
    if request.lyrics is not None:
        if not request.lyrics.strip():
            raise ToolError("The lyrics are empty; give the lyrics as lines of text, or leave them out to have "
                            "lyrics written for you.")
        check_lyrics_size(request.lyrics)
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


def _plan(lyrics: Lyrics, arr: Arrangement, length: float | None, minimum: float = DEFAULT_MIN_LENGTH
          ) -> tuple[list[_Planned], list[str]]:
    """Sections in playing order (intro, lyrics, outro) and notes saying what was left out or added.

    Without a length the whole song is sung, every section as written, and a song shorter than
    ``minimum`` seconds gets one more chorus and a solo; past the 10-minute cap the last sections are
    left out. A requested length is met by leaving out later sections or adding choruses and a solo.
    """
    bpb, base = arr.beats_per_bar, arr.bars_per_line
    bar_seconds = bpb * 60.0 / arr.tempo
    low, high = (length, length) if length else (minimum, MAX_LENGTH)

    def planned(index: int, section: LyricSection) -> _Planned:
        return _Planned(section.label, section.kind, section.lines,
                        [line_bars(ln.syllable_count, bpb, base) for ln in section.lines], index=index)

    body = [planned(i, s) for i, s in enumerate(lyrics.sections)]
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

    written_bars = sum(p.bars for p in body)
    chorus = next((p for p in body if p.kind == "chorus"), body[0])
    for added in range(24 if length else 2):   # a whole song gets at most one more chorus and one solo
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
    notes = _plan_notes(lyrics, body, cut_lines, length, written_bars * bar_seconds)
    target = length if length else min(max(seconds(outro_min), low), seconds(outro_max), high)
    target_bars = round(target / bar_seconds) if length else math.ceil(target / bar_seconds - 1e-9)
    outro = max(outro_min, target_bars - intro_bars - sum(p.bars for p in body))
    intro = _Planned("Intro", "intro", (), [], instrumental_bars=intro_bars)
    return [intro, *body, _Planned("Outro", "outro", (), [], instrumental_bars=outro)], notes


def _plan_notes(lyrics: Lyrics, body: list[_Planned], cut_lines: int, length: float | None,
                sung_seconds: float) -> list[str]:
    """What the plan left out of the lyrics or added to them, in words for the reply and song.json."""
    kept = {p.index for p in body}
    labels = [s.label for s in lyrics.sections]
    missing = [_name(labels, i) for i in range(len(labels)) if i not in kept]
    if cut_lines:
        missing.append(f"the last {cut_lines} line{'s' if cut_lines > 1 else ''} of {body[0].label}")
    notes = []
    if missing and length:
        notes.append(f"To fit about {length:.0f} s I left out {_listed(missing)}; ask for a longer song, "
                     "or give no length, to hear all the lyrics.")
    elif missing:
        notes.append(f"A song lasts at most {MAX_LENGTH / 60:.0f} minutes, so I left out {_listed(missing)}; "
                     "split the lyrics into two songs to sing them all.")
    repeated = [p.label for p in body if p.index < 0 and p.lines]
    solo = sum(p.instrumental_bars for p in body if p.kind == "solo")
    added = [f"the {repeated[0]} once more" if len(repeated) == 1 else f"the {repeated[0]} {len(repeated)} more times"
             ] if repeated else []
    added += [f"a {solo}-bar solo"] if solo else []
    if added:
        reason = (f"To fill about {length:.0f} s" if length
                  else f"The lyrics sing for {sung_seconds:.0f} s, so to make a whole song")
        notes.append(f"{reason} I added {_listed(added)}.")
    return notes


def _name(labels: list[str], index: int) -> str:
    """A section of the lyrics by name; "the 2nd Chorus", "the last Chorus" for a repeated one."""
    same = [i for i, label in enumerate(labels) if label == labels[index]]
    if len(same) == 1:
        return labels[index]
    if index == same[-1]:
        return f"the last {labels[index]}"
    nth = same.index(index) + 1
    return f"the {nth}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(nth, 'th') } {labels[index]}"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _structure_for(length: float | None) -> tuple[str, ...]:
    """Sections to ask the LLM for: a whole song by default; for a short length, not a page to throw away."""
    if length is not None and length <= 45:
        return ("Verse 1", "Chorus")
    if length is not None and length <= 100:
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
    lyrics_method: Method = "crafted",
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
    watch = Stopwatch()
    if request.lyrics:
        lyrics = parse_lyrics(request.lyrics, title=request.title)
    else:
        lyrics = write_lyrics(request.brief(), llm, seed=request.seed,  # type: ignore[arg-type]
                              structure=_structure_for(request.length_seconds), method=lyrics_method)
    watch.lap("lyrics")

    notes: list[str] = []
    scores: tuple[GenreScore, ...] = ()
    if request.genre:
        match = resolve_genre(request.genre)
        genre = match.genre
        if match.note:
            notes.append(match.note)
    else:
        guess = guess_genre(lyrics.text())
        scores = guess.scores
        if guess.genre:
            genre = guess.genre
            notes.append(f"The lyrics sound most like {genre} ({guess.probability:.0%}), so I arranged it as {genre}.")
        else:  # unclear lyrics: the request's words and mood choose
            fallback = genre_from_request(request.prompt, request.mood)
            genre = fallback.genre
            notes.append(fallback.note)
    watch.lap("genre")

    arr = arrange(genre, request.mood, key=request.key, tempo=request.tempo, instruments=request.instruments,
                  subgenres=request.subgenres, seed=request.seed)
    band = Band(genre=genre, mood=request.mood, key=str(arr.key), tempo=arr.tempo,
                instruments=tuple(request.instruments) if request.instruments else None,
                subgenres=tuple(request.subgenres), seed=request.seed)
    notes += arr.notes
    plan, plan_notes = _plan(lyrics, arr, request.length_seconds,
                             GIVEN_LYRICS_MIN_LENGTH if request.lyrics else DEFAULT_MIN_LENGTH)
    notes += [*lyrics.notes, *plan_notes]
    chord_generator = chord_generator or default_chord_generator()
    sections, chords, melody = _write_music(plan, band, chord_generator, request.seed)
    song = Song(title=lyrics.title, artist=request.artist, request=request, band=band, lyrics=lyrics,
                sections=sections, score=assemble_score(lyrics.title, band, sections, chords, melody),
                genre_scores=scores, chord_generator=chord_generator.name, notes=tuple(notes))
    watch.lap("chords, melody, arrangement")

    name = slug(lyrics.title) + "-" + short_hash(json.dumps(asdict(request), sort_keys=True), genre, lyrics.text())
    song = write_song(song, out_dir, name, render_audio=render_audio, soundfont=soundfont, lap=watch.lap)
    return replace(song, timings=tuple(watch.timings))


def _write_music(plan: list[_Planned], band: Band, generator: ChordGenerator, seed: int
                 ) -> tuple[tuple[SongSection, ...], list[ChordSpan], list[Note]]:
    """Chords for every section and the melody over them (the band plays the rest from the chords)."""
    writer = SectionWriter(band, generator, seed)
    blocks = [Block(SongSection(p.label, p.kind, 0, p.bars, (), (), tuple(ln.text for ln in p.lines),
                                tuple(p.line_bars)), [], []) for p in plan]
    last_sung = max((i for i, p in enumerate(plan) if p.lines), default=-1)
    for index, (planned, block) in enumerate(zip(plan, blocks)):
        writer.chords(block, last=index == len(plan) - 1, take=0)
        writer.melody(block, planned.lines, last_sung=index == last_sung, take=0)
    return join_sections(blocks, writer.arr.beats_per_bar)
