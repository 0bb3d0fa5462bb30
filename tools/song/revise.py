"""Revise a song and keep everything else: tempo, key and mode, genre, instruments, the form, one
section's chords, melody or lyrics, or another take. Each revision is a new version folder beside
the first (see :mod:`tools.song.folder`); :func:`previous_version` goes back.

    revised = revise_song(load_song(folder), Revision(tempo_factor=1.15, mode="major"))
    revised.summary()   # 'Version 2 of "Oh My": tempo 82 -> 94 BPM; D minor -> D major ...; lyrics kept.'

Parts a revision does not touch stay identical: the same lyric text, chords and melody notes;
with the tempo, key and instruments unchanged, the same MIDI events in every untouched section.
Every check runs before anything is written, so a revision that cannot be done leaves the
current version as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from core.errors import ToolError
from core.textgen import TextGenerator
from tools.music.harmony import (
    Key,
    parse_key,
)
from tools.song.folder import version_name, write_song
from tools.song.sections import (
    Block,
    SectionWriter,
    join_sections,
    matching,
    split_sections,
    transpose,
)
from tools.song.song import (
    Band,
    Song,
    SongSection,
    assemble_score,
    load_song,
    program_name,
)
from tools.songwriting.arrangement import check_tempo, resolve_instrument
from tools.songwriting.chord_rules import ChordGenerator
from tools.songwriting.chords import default_chord_generator
from tools.songwriting.genre import resolve_genre
from tools.songwriting.lyric_writing import write_section
from tools.songwriting.lyrics import Lyrics

_DRUM_WORDS = ("drums", "drum", "drum kit", "percussion", "beat")


@dataclass(frozen=True)
class Revision:
    """What to change in a song; everything left at its default stays as it is."""

    tempo: float | None = None                 # BPM
    tempo_factor: float | None = None          # relative: 1.15 is "faster", 0.87 "slower"
    key: str | None = None                     # "E minor", "G"
    mode: Literal["major", "minor"] | None = None
    genre: str | None = None
    instruments: tuple[str, ...] | None = None  # exactly these ("piano only")
    add_instruments: tuple[str, ...] = ()
    remove_instruments: tuple[str, ...] = ()
    section: str | None = None                 # the section regenerate (None: all) and rewrite_lyrics act on
    regenerate: Literal["chords", "melody"] | None = None
    rewrite_lyrics: bool = False
    lyrics_about: str | None = None
    add_section: str | None = None             # "bridge", "verse", "solo": before the last chorus
    drop_section: str | None = None            # "intro", "solo", "verse 2"
    repeat_last_chorus: bool = False
    new_take: bool = False                     # new chords and melody everywhere (a new seed), same lyrics

    def is_empty(self) -> bool:
        return self == Revision()


@dataclass(frozen=True)
class Revised:
    """A new version of a song and what changed in it."""

    song: Song
    changes: tuple[str, ...]
    kept: tuple[str, ...] = ()

    def summary(self) -> str:
        """One or two lines for a chat reply: exactly what changed, and what was kept."""
        text = f'Version {self.song.version} of "{self.song.title}": ' + "; ".join(self.changes)
        if self.kept:
            text += f"; {_listing(self.kept)} kept"
        return text + "."


def _listing(items: tuple[str, ...] | list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _check(song: Song, rev: Revision, llm: TextGenerator | None) -> None:
    if rev.is_empty():
        raise ToolError("Say what to change: the tempo, the key, the instruments, a section's chords, melody or "
                        "lyrics, the form, or ask for another take.")
    if rev.tempo is not None:
        check_tempo(rev.tempo)
    if rev.tempo_factor is not None:
        check_tempo(round(song.tempo * rev.tempo_factor))
    if rev.key:
        parse_key(rev.key)
    if rev.genre:
        resolve_genre(rev.genre)
    for name in (*(rev.instruments or ()), *rev.add_instruments, *rev.remove_instruments):
        if name.lower().strip() not in _DRUM_WORDS:
            resolve_instrument(name)
    if rev.instruments is not None and not rev.instruments:
        raise ToolError("A song needs at least one instrument; name the ones to keep.")
    for name in (rev.section, rev.drop_section):
        if name:
            song.section(name)
    if rev.rewrite_lyrics and not rev.section:
        raise ToolError("Say which section's lyrics to rewrite, e.g. 'rewrite verse 2 about the sea'.")
    if rev.rewrite_lyrics and not song.section(rev.section).lines:
        raise ToolError(f"{song.section(rev.section).label} has no lyrics to rewrite; pick a sung section.")
    if (rev.rewrite_lyrics or (rev.add_section and rev.add_section not in ("solo", "instrumental"))) and llm is None:
        raise ToolError("No language model is configured to write the new lyrics; configure one or give the lines yourself.")
    if rev.drop_section and len(song.sections) <= 1:
        raise ToolError("The song has only one section; there is nothing left to drop.")


def _new_band(song: Song, rev: Revision) -> tuple[Band, list[str]]:
    band, changes = song.band, []
    tempo = rev.tempo if rev.tempo is not None else (round(song.tempo * rev.tempo_factor) if rev.tempo_factor else None)
    if tempo is not None and float(tempo) != song.tempo:
        band = replace(band, tempo=float(tempo))
        changes.append(f"tempo {song.tempo:g} → {float(tempo):g} BPM")
    key = parse_key(rev.key) if rev.key else parse_key(song.key)
    if rev.mode and not (rev.key and rev.key.lower().endswith(("major", "minor"))):
        key = Key(key.tonic, rev.mode) if rev.mode != key.mode else key
        key = parse_key(f"{key.tonic} {key.mode}")
    if str(key) != song.key:
        band = replace(band, key=str(key))
        changes.append(f"{song.key} → {key}")
    if rev.genre:
        genre = resolve_genre(rev.genre).genre
        if genre != song.genre:
            band = replace(band, genre=genre)
            changes.append(f"{song.genre} → {genre}")
    if rev.instruments is not None or rev.add_instruments or rev.remove_instruments:
        names = list(rev.instruments) if rev.instruments is not None else list(_lineup(song))
        names += [n for n in rev.add_instruments if n not in names]
        removed = {_program(n) for n in rev.remove_instruments}
        names = [n for n in names if _program(n) not in removed]
        if not [n for n in names if n.lower() not in _DRUM_WORDS]:
            raise ToolError("That would leave no instrument to play the tune; keep at least one.")
        band = replace(band, instruments=tuple(names))
    return band, changes


def _program(name: str) -> int | str:
    return "drums" if name.lower().strip() in _DRUM_WORDS else resolve_instrument(name)


def _lineup(song: Song) -> tuple[str, ...]:
    """The song's instruments as names arrange() reads back in the same roles: melody, chords, pad, bass, drums."""
    arr = song.band.arrangement()
    programs = [arr.melody_program, arr.chord_program, arr.pad_program, arr.bass_program]
    names = [program_name(p) for p in programs if p is not None]
    return tuple(names + (["drums"] if arr.drums else []))


def revise_song(
    song: Song,
    revision: Revision,
    *,
    llm: TextGenerator | None = None,
    chord_generator: ChordGenerator | None = None,
    render_audio: bool = True,
    soundfont: str | Path | None = None,
) -> Revised:
    """Apply ``revision`` to ``song`` and write the result as the next version beside it.

    Raises ToolError, before anything is written, for an edit that cannot be done: a tempo outside
    30-300 BPM, an unknown key, genre or instrument, a section the song does not have.
    """
    _check(song, revision, llm)
    band, changes = _new_band(song, revision)
    if band.arrangement().beats_per_bar != song.score.beats_per_bar:
        raise ToolError(f"{band.genre} would change the meter from {song.meter}; choose a genre in the same meter.")
    version = _next_version(song)   # also the take number: a regenerated part differs in each version
    blocks = split_sections(song)
    if band.key != song.key:  # first, so whatever is written new below is written in the new key
        transpose(blocks, parse_key(song.key), parse_key(band.key))
    lyrics = song.lyrics
    writer = SectionWriter(band, chord_generator or default_chord_generator(), band.seed)
    lyric_lines = {s.label: s.lines for s in lyrics.sections}

    # the form
    if revision.drop_section:
        gone = {id(b) for b in matching(blocks, song, revision.drop_section)}
        label = next(b.section.label for b in blocks if id(b) in gone)
        blocks = [b for b in blocks if id(b) not in gone]
        changes.append(f"{label} dropped")
    if revision.repeat_last_chorus:
        last = max((i for i, b in enumerate(blocks) if b.section.kind == "chorus"), default=None)
        if last is None:
            raise ToolError("The song has no chorus to repeat; ask for another section instead.")
        twin = blocks[last]
        blocks.insert(last + 1, Block(twin.section, list(twin.chords), list(twin.melody)))
        changes.append(f"{twin.section.label} repeated at the end")
    if revision.add_section:
        kind = revision.add_section.lower().split()[0]
        kind = "solo" if kind == "instrumental" else kind
        label = _new_label(blocks, kind)
        if kind == "solo":
            bars = song.band.arrangement().bars_per_line * 2
            section = SongSection(label, kind, 0, bars, (), (), (), ())
        else:
            written = write_section(song.request.brief(), lyrics, label, llm,  # type: ignore[arg-type]
                                    about=revision.lyrics_about, seed=version)
            lyrics = Lyrics(lyrics.title, (*lyrics.sections, written))
            lyric_lines[written.label] = written.lines
            bars_per = writer.bars_of(written.lines)
            section = SongSection(written.label, written.kind, 0, sum(bars_per), (), (),
                                  tuple(ln.text for ln in written.lines), bars_per)
        block = Block(section, [], [])
        choruses = [i for i, b in enumerate(blocks) if b.section.kind == "chorus"]
        blocks.insert(choruses[-1] if choruses else max(1, len(blocks) - 1), block)
        writer.chords(block, last=False, take=version)
        writer.melody(block, lyric_lines.get(section.label), last_sung=False, take=version)
        changes.append(f"{section.label} added")

    # one section's lyrics, chords or melody
    if revision.rewrite_lyrics:
        label = song.section(revision.section).label
        written = write_section(song.request.brief(), lyrics, label, llm, about=revision.lyrics_about,  # type: ignore[arg-type]
                                seed=version)
        lyrics = Lyrics(lyrics.title, tuple(written if s.label == label else s for s in lyrics.sections))
        lyric_lines[label] = written.lines
        bars_per = writer.bars_of(written.lines)
        for b in blocks:
            if b.section.label == label:
                old_bars = b.section.bars
                b.section = replace(b.section, lines=tuple(ln.text for ln in written.lines), line_bars=bars_per,
                                    bars=sum(bars_per))
                b.touched.add("lyrics")
                if b.section.bars != old_bars:
                    writer.chords(b, last=False, take=0)
        changes.append(f"new lyrics for {label}" + (f" about {revision.lyrics_about}" if revision.lyrics_about else ""))
    if revision.regenerate:
        targets = matching(blocks, song, revision.section) if revision.section else blocks
        for b in targets:
            if revision.regenerate == "chords":
                writer.chords(b, last=b is blocks[-1], take=version)
            b.touched.add("melody")  # a melody follows its chords
        where = targets[0].section.label if revision.section else "the whole song"
        changes.append(f"new {revision.regenerate} for {where}"
                       + (" (and a melody that fits them)" if revision.regenerate == "chords" else ""))
    if revision.new_take:
        band = replace(band, seed=band.seed + 1)
        writer = SectionWriter(band, writer.generator, band.seed)
        for i, b in enumerate(blocks):
            writer.chords(b, last=i == len(blocks) - 1, take=0)
        changes.append("another take: new chords and melody")

    # melodies that must follow new chords or lines
    last_sung = max((i for i, b in enumerate(blocks) if b.section.lines), default=-1)
    for i, b in enumerate(blocks):
        if b.touched & {"chords", "lyrics", "melody"} or revision.new_take:
            retake = version if revision.regenerate == "melody" and "melody" in b.touched else 0
            writer.melody(b, lyric_lines.get(b.section.label), last_sung=i == last_sung, take=retake)

    sections, chords, melody = join_sections(blocks, song.score.beats_per_bar)
    revised = replace(song, band=band, lyrics=lyrics, sections=sections, version=version, previous=song.folder,
                      score=assemble_score(song.title, band, sections, chords, melody), notes=(), folder=None,
                      files=(), timings=())
    if revised.instruments != song.instruments:
        changes.append(f"instruments {', '.join(song.instruments)} → {', '.join(revised.instruments)}")
    written = write_song(revised, song.folder.parent, version_name(song.folder, version),
                         render_audio=render_audio, soundfont=soundfont)
    return Revised(written, tuple(changes), _kept(blocks, revision, band, song))


def _kept(blocks: list[Block], rev: Revision, band: Band, song: Song) -> tuple[str, ...]:
    touched = set().union(*(b.touched for b in blocks)) if blocks else set()
    kept = []
    if "lyrics" not in touched and not rev.add_section:
        kept.append("lyrics")
    moved = "" if band.key == song.key else f" (moved to {band.key})"
    if not rev.new_take and "chords" not in touched and "melody" not in touched:
        kept.append(f"chords and melody{moved}")
    elif not rev.new_take and "chords" not in touched:
        kept.append(f"chords{moved}")
    if band.instruments == song.band.instruments and band.genre == song.genre:
        kept.append("instruments")
    return tuple(kept)


def _new_label(blocks: list[Block], kind: str) -> str:
    same = sum(b.section.kind == kind for b in blocks)
    return kind.title() if kind in ("chorus", "bridge", "solo") and not same else f"{kind.title()} {same + 1}"


def _next_version(song: Song) -> int:
    if song.folder is None:
        raise ToolError("This song was never written to a folder; compose it first.")
    version = song.version + 1
    while (song.folder.parent / version_name(song.folder, version)).exists():
        version += 1
    return version


def previous_version(song: Song) -> Song:
    """The version this one was made from. Raises ToolError for a first version or a deleted folder."""
    if song.previous is None:
        raise ToolError(f'"{song.title}" is the first version; there is no earlier one to go back to.')
    if not Path(song.previous).is_dir():
        raise ToolError(f"The previous version's folder {song.previous} is gone; it cannot be restored.")
    return load_song(song.previous)
