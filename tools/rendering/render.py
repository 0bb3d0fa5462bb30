"""Turn a score into files: MIDI, a piano roll, a chord chart, and (through :mod:`tools.rendering.synth`) WAV and
OGG audio; :func:`render_any` does it for a MIDI file, a MusicXML file or a chord string. The lead
sheet is :mod:`tools.rendering.leadsheet`, its engraving (SVG and PNG pages; scores, not MIDI) :mod:`tools.rendering.engrave`.

Files are written into a temporary folder that is renamed into place only when
all of them are done, so a failure never leaves half a song behind."""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido

from core.errors import ToolError
from core.files import atomic_folder
from core.outputs import OutputFile
from tools.music.harmony import ChordSpan, parse_chords, parse_key
from tools.music.score import Score, SectionMark
from tools.rendering.engrave import EngravingJob, start_engraving
from tools.rendering.leadsheet import write_musicxml
from tools.rendering.midi import write_midi
from tools.rendering.pictures import midi_roll, piano_roll_png
from tools.rendering.synth import render_midi_to_wav
from tools.songwriting.arrangement import check_tempo, comp_part, resolve_instrument

MAX_RENDER_SECONDS = 600.0     # the same 10 minutes compose allows a song
MAX_CHORDS = 256               # one chord a bar: 10 minutes at 100 BPM is 250 bars
DEFAULT_CHORD_TEMPO = 100.0


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render_any` made: its files, the audio's length, the tempo it played at and
    anything the user should be told (``notes``)."""

    folder: Path
    files: tuple[OutputFile, ...]
    duration_seconds: float
    tempo: float
    notes: tuple[str, ...] = ()


@contextlib.contextmanager
def staged_folder(out_dir: str | Path, name: str) -> Iterator[tuple[Path, Path]]:
    """Yield (temporary folder, final folder): write into the first, it becomes the second on success.

    An existing final folder (the same request made again) is replaced whole (see :func:`core.files.atomic_folder`).
    """
    final = Path(out_dir).expanduser() / name
    with atomic_folder(final) as tmp:
        yield tmp, final


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe lower-case slug of ``text``."""
    return (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")) or "song"


def short_hash(*parts: object) -> str:
    """Eight hex digits that identify ``parts`` (stable across runs)."""
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:8]


def chord_chart(score: Score, header: Sequence[str] = ()) -> str:
    """A plain-text chord chart: a row of bars (``| Am | F G |``) per lyric line, with the line sung
    over them; instrumental sections in rows of four bars."""
    bpb = score.beats_per_bar
    lines = [score.title, *header,
             f"Key: {score.key}   Tempo: {round(score.tempo)} BPM   Meter: {bpb}/4", ""]
    melody = sorted(score.melody.notes, key=lambda n: n.start) if score.melody else []
    sections = score.sections or [SectionMark("Song", "verse", 0, math.ceil(score.duration_beats / bpb))]
    for section in sections:
        lines.append(f"[{section.label}]")
        widths = list(section.line_bars) or [4] * math.ceil(section.bars / 4)
        starts = [section.start_bar + sum(widths[:i]) for i in range(len(widths))]
        for row, width in zip(starts, widths):
            bars = range(row, min(row + width, section.start_bar + section.bars))
            cells = []
            for bar in bars:
                names = [s.chord.symbol for s in score.chords if bar * bpb <= s.start < (bar + 1) * bpb]
                cells.append(" ".join(names).ljust(8))
            sung = "".join(n.lyric + ("" if n.syllabic in ("begin", "middle") else " ")
                           for n in melody if n.lyric and bars[0] * bpb <= n.start < (bars[-1] + 1) * bpb)
            lines.append("| " + " | ".join(cells) + " |" + (f"   {sung.strip()}" if sung.strip() else ""))
        lines.append("")
    return "\n".join(lines)


def parse_chord_chart(text: str) -> list[list[str]]:
    """The chord symbols of each bar of a chart written by :func:`chord_chart`, in order."""
    bars = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = line[: line.rindex("|")].strip("|").split("|")
            bars.extend(cell.split() for cell in cells)
    return bars


def check_chord_source(text: str, tempo: float) -> None:
    """Refuse, before any work, a chord string longer than :data:`MAX_CHORDS` chords or 10 minutes at ``tempo``."""
    count = len(re.findall(r"[^\s,|]+", text))
    if count > MAX_CHORDS:
        raise ToolError(f"{count} chords is too many to render; give at most {MAX_CHORDS} chords (one a bar).")
    _check_length(count * 4 * 60.0 / tempo, f"{count} chords at {tempo:g} BPM")


def _check_length(seconds: float, what: str) -> None:
    if seconds > MAX_RENDER_SECONDS:
        raise ToolError(f"{what} would play for {seconds / 60:.1f} minutes, over the {MAX_RENDER_SECONDS / 60:g}-minute "
                        "render limit; render a shorter part or a faster tempo.")


def _seconds_of(midi: mido.MidiFile) -> float:
    """How long a MIDI file plays (0 for a type-2 file, whose tracks have no shared timeline)."""
    try:
        return midi.length
    except ValueError:
        return 0.0


def _chord_score(text: str, tempo: float, program: int) -> Score:
    chords = parse_chords(text)
    first = chords[0]
    key = parse_key(first.root + ("m" if first.quality in ("min", "m7", "m6") else ""))
    spans = [ChordSpan(c, "", 4.0 * i, 4.0) for i, c in enumerate(chords)]
    part = comp_part(spans, "pulse", program, 4)  # the same comping the songs use
    return Score(title=" ".join(c.symbol for c in chords), key=key, tempo=tempo, beats_per_bar=4,
                 parts=[part], chords=spans, sections=[SectionMark("Chords", "verse", 0, len(chords))])


def _retimed_midi(path: Path, tempo: float | None, program: int | None) -> tuple[mido.MidiFile, float, bool]:
    """The MIDI file with its tempo map scaled so it starts at ``tempo`` and its instruments set to ``program``,
    its starting tempo, and whether the file named a tempo at all."""
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, ValueError, EOFError, KeyError, IndexError) as exc:
        raise ToolError(f"{path.name} is not a readable MIDI file ({exc}); give a standard .mid file.") from exc
    tempos = [m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"]
    first_bpm = mido.tempo2bpm(tempos[0]) if tempos else 120.0
    scale = (tempo / first_bpm) if tempo else 1.0
    channels = sorted({m.channel for t in midi.tracks for m in t if hasattr(m, "channel")} - {9})
    for track in midi.tracks:
        for j, msg in enumerate(track):
            if msg.type == "set_tempo" and scale != 1.0:
                track[j] = msg.copy(tempo=max(1, round(msg.tempo / scale)))
            elif msg.type == "program_change" and program is not None and msg.channel != 9:
                track[j] = msg.copy(program=program)
    if tempo and not tempos:
        midi.tracks[0].insert(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo)))
    if program is not None:
        for channel in channels:  # channels that never chose a program play the requested one too
            midi.tracks[0].insert(0, mido.Message("program_change", channel=channel, program=program))
    return midi, first_bpm * scale, bool(tempos)


def is_file_source(source: str | Path) -> bool:
    """Does ``source`` name a MIDI or MusicXML file (rather than chords like 'C G Am F')?"""
    return Path(str(source).strip()).suffix.lower() in (".mid", ".midi", ".musicxml", ".xml", ".mxl")


def render_any(
    source: str | Path,
    out_dir: str | Path,
    *,
    tempo: float | None = None,
    instrument: str | None = None,
    soundfont: str | Path | None = None,
) -> RenderResult:
    """Render a MIDI file, a MusicXML file or a chord string ('C G Am F') to MIDI, WAV, OGG and a piano roll.

    Files go into a new folder inside ``out_dir``. ``tempo`` (30-300 BPM) sets the
    starting tempo, ``instrument`` (a name such as piano or strings) the instrument. Nothing longer than
    :data:`MAX_RENDER_SECONDS` (or more than :data:`MAX_CHORDS` chords) is rendered: the limit is checked
    before the audio is made.
    """
    if tempo is not None:
        check_tempo(tempo)
    program = resolve_instrument(instrument) if instrument else None
    text = str(source).strip()
    path = Path(text).expanduser()
    is_file = is_file_source(text)
    if is_file and not path.is_file():
        raise ToolError(f"The file {path} does not exist; check the path.")
    if not is_file:
        check_chord_source(text, tempo or DEFAULT_CHORD_TEMPO)
    name = slug(path.stem if is_file else text) + "-" + short_hash(text, tempo, instrument)
    notes: list[str] = []
    with staged_folder(out_dir, name) as (tmp, final):
        midi_path = tmp / "song.mid"
        if not is_file:
            score = _chord_score(text, tempo or DEFAULT_CHORD_TEMPO, program if program is not None else 0)
            write_midi(score, midi_path)
            played_tempo = score.tempo
            (tmp / "chords.txt").write_text(chord_chart(score), encoding="utf-8")
            engraving: EngravingJob | None = start_engraving(write_musicxml(score, tmp / "lead-sheet.musicxml"), tmp)
        else:
            source_midi = path
            if path.suffix.lower() != ".mid" and path.suffix.lower() != ".midi":
                source_midi = tmp / "source.mid"
                _musicxml_to_midi(path, source_midi)
            midi, played_tempo, had_tempo = _retimed_midi(source_midi, tempo, program)
            _check_length(_seconds_of(midi), path.name + (f" at {played_tempo:g} BPM" if tempo else ""))
            if not had_tempo and tempo is None:
                notes.append("The file sets no tempo, so it played at the MIDI default of 120 BPM.")
            midi.save(str(midi_path))
            if source_midi != path:
                source_midi.unlink()
            # A MusicXML score is engraved as it is; a MIDI file has no notation to engrave.
            engraving = start_engraving(path, tmp) if path.suffix.lower() in (".musicxml", ".xml") else None
        roll, length = midi_roll(midi_path)
        duration = render_midi_to_wav(midi_path, tmp / "song.wav", ogg_path=tmp / "song.ogg", max_seconds=length,
                                      soundfont=soundfont)
        piano_roll_png(roll, tmp / "piano-roll.png", title=f"{path.name if is_file else text} at {played_tempo:g} BPM")
        if engraving is not None:
            engraving.wait()
        produced = sorted(p.name for p in tmp.iterdir())
    files = tuple(OutputFile.of(final / n, describe(n)) for n in produced)
    return RenderResult(folder=final, files=files, duration_seconds=duration, tempo=played_tempo,
                        notes=tuple(notes))


def _musicxml_to_midi(path: Path, midi_path: Path) -> None:
    from music21 import converter

    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types for a malformed file
        raise ToolError(f"{path.name} is not a readable MusicXML file ({type(exc).__name__}); export it again as MusicXML.") from exc
    parsed.write("midi", fp=str(midi_path))


_DESCRIPTIONS = {
    "song.mid": "MIDI file of the whole arrangement",
    "song.wav": "audio rendered with fluidsynth (FluidR3 GM)",
    "song.ogg": "compressed audio for sharing",
    "piano-roll.png": "piano roll of every part",
    "lead-sheet.musicxml": "lead sheet: melody, lyrics and chord symbols",
    "chords.txt": "chord chart with lyrics",
    "song.json": "everything about the song as JSON",
    "lyrics.txt": "the lyrics",
}


def describe(name: str) -> str:
    """What a file of a rendered song is, for listings."""
    page = re.fullmatch(r"lead-sheet-(\d+)\.(png|svg)", name)
    if page:
        return f"engraved lead sheet, page {page.group(1)} ({page.group(2).upper()})"
    return _DESCRIPTIONS.get(name, "")
