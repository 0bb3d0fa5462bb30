"""Turn a score into files: MIDI, a piano roll, a chord chart, and (through :mod:`tools.synth`) WAV and
OGG audio; :func:`render_any` does it for a MIDI file, a MusicXML file or a chord string. The lead
sheet is :mod:`tools.leadsheet`.

Files are written into a temporary folder that is renamed into place only when
all of them are done, so a failure never leaves half a song behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido

from tools.arrangement import check_tempo, comp_part, resolve_instrument
from tools.files import ensure_writable_dir
from tools.harmony import ChordSpan, parse_chords, parse_key
from tools.score import Score, SectionMark
from tools.synth import render_midi_to_wav
from tools.types import OutputFile, ToolError

TICKS_PER_BEAT = 480


@dataclass(frozen=True)
class RenderResult:
    """What :func:`render_any` made: its files, the audio's length, the tempo it played at and
    anything the user should be told (``notes``)."""

    folder: Path
    files: tuple[OutputFile, ...]
    duration_seconds: float
    tempo: float
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------- output folders


@contextlib.contextmanager
def staged_folder(out_dir: str | Path, name: str) -> Iterator[tuple[Path, Path]]:
    """Yield (temporary folder, final folder): write into the first, it becomes the second on success.

    An existing final folder (the same request made again) is replaced whole.
    """
    out_dir = ensure_writable_dir(out_dir)
    final = out_dir / name
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_dir))
    except OSError as exc:
        raise ToolError(f"Cannot write into the output folder {out_dir} ({exc.strerror}); choose a folder you can write to.") from exc
    try:
        yield tmp, final
        tmp.chmod(0o755)  # mkdtemp makes it private; a song folder is as readable as any output
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=out_dir))
            os.replace(final, trash / name)
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe lower-case slug of ``text``."""
    return (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")) or "song"


def short_hash(*parts: object) -> str:
    """Eight hex digits that identify ``parts`` (stable across runs)."""
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:8]


# ---------------------------------------------------------------- MIDI


def _swing_beats(beat: float, swing: float) -> float:
    """Move off-beat eighths later: the half beat lands at 0.5 + swing."""
    if not swing:
        return beat
    whole = math.floor(beat + 1e-9)
    frac = beat - whole
    split = 0.5 + swing
    warped = frac * split / 0.5 if frac <= 0.5 else split + (frac - 0.5) * (1 - split) / 0.5
    return whole + warped


def score_to_midi(score: Score) -> bytes:
    """A type-1 standard MIDI file: a conductor track (tempo, meter, key, sections, chord names) and one
    track per part.

    Channel messages are encoded here, not as mido objects: validating thousands of
    mido messages took longer than everything else in writing a song's MIDI.
    """
    def tick(beat: float) -> int:
        return round(_swing_beats(beat, score.swing) * TICKS_PER_BEAT)

    def meta(type_: str, **fields: object) -> bytes:
        return bytes(mido.MetaMessage(type_, **fields).bytes())

    def text_meta(type_: str, text: str) -> bytes:  # UTF-8, so lyrics like "don’t" survive
        data = text.encode("utf-8")
        return bytes((0xFF, _TEXT_META[type_])) + _varlen(len(data)) + data

    key_name = score.key.tonic + ("m" if score.key.mode == "minor" else "")
    conductor: list[tuple[int, int, int, bytes]] = [
        (0, 0, 0, text_meta("track_name", score.title)),
        (0, 1, 0, meta("set_tempo", tempo=mido.bpm2tempo(score.tempo))),
        (0, 2, 0, meta("time_signature", numerator=score.beats_per_bar, denominator=4)),
        (0, 3, 0, meta("key_signature", key=key_name)),
    ]
    conductor += [(tick(s.start_bar * score.beats_per_bar), 4, 0, text_meta("marker", s.label)) for s in score.sections]
    conductor += [(tick(span.start), 5, 0, text_meta("text", span.chord.symbol)) for span in score.chords]
    end_tick = tick(score.duration_beats)
    tracks = [_track_chunk(conductor, end_tick)]

    channels = iter([c for c in range(16) if c != 9])
    for part in score.parts:
        channel = 9 if part.is_drums else next(channels)
        events: list[tuple[int, int, int, bytes]] = [(0, 0, 0, text_meta("track_name", part.name))]
        if not part.is_drums:
            events.append((0, 1, 0, bytes((0xC0 | channel, _data_byte(part.program, part.name)))))
        events.append((0, 1, 0, bytes((0xB0 | channel, 7, _data_byte(part.volume, part.name)))))
        for note in part.notes:
            on, off = tick(note.start), max(tick(note.start) + 1, tick(note.end))
            pitch = _data_byte(note.pitch, part.name)
            if note.lyric:
                text = note.lyric + ("-" if note.syllabic in ("begin", "middle") else " ")
                events.append((on, 2, 0, text_meta("lyrics", text)))
            events.append((on, 4, pitch, bytes((0x90 | channel, pitch, _data_byte(note.velocity, part.name)))))
            events.append((off, 3, pitch, bytes((0x80 | channel, pitch, 0))))
        tracks.append(_track_chunk(events, end_tick))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_BEAT)
    return header + b"".join(tracks)


_TEXT_META = {"text": 0x01, "track_name": 0x03, "lyrics": 0x05, "marker": 0x06}


def _data_byte(value: int, part: str) -> int:
    if not 0 <= value <= 127:
        raise ValueError(f"{part}: {value} is outside MIDI's 0-127 range")
    return value


def _varlen(value: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits a byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track_chunk(events: list[tuple[int, int, int, bytes]], end_tick: int) -> bytes:
    """An MTrk chunk: events sorted by (tick, order, note) - note-offs before note-ons at the same tick -
    with delta times, then end-of-track."""
    body = bytearray()
    now = 0
    for at, _, _, message in sorted(events, key=lambda e: e[:3]):
        body += _varlen(at - now) + message
        now = at
    body += _varlen(max(0, end_tick - now)) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write_midi(score: Score, path: str | Path) -> Path:
    """Write ``score`` as a MIDI file (byte-identical for the same score)."""
    Path(path).write_bytes(score_to_midi(score))
    return Path(path)


# ---------------------------------------------------------------- pictures and charts


@dataclass(frozen=True)
class RollNote:
    """A note in seconds, for drawing."""

    start: float
    end: float
    pitch: int
    track: str
    drums: bool = False


def score_roll(score: Score) -> list[RollNote]:
    """The score's notes in seconds (swing ignored: the picture is the written rhythm)."""
    spb = score.seconds_per_beat
    return [RollNote(n.start * spb, n.end * spb, n.pitch, p.name, p.is_drums) for p in score.parts for n in p.notes]


def midi_roll(path: str | Path) -> tuple[list[RollNote], float]:
    """Notes of a MIDI file in seconds (tempo changes followed) and its length."""
    midi = mido.MidiFile(str(path))
    now, active, out = 0.0, {}, []
    for msg in midi:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            active[(msg.channel, msg.note)] = now
        elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in active:
            start = active.pop((msg.channel, msg.note))
            out.append(RollNote(start, now, msg.note, f"channel {msg.channel + 1}", msg.channel == 9))
    return out, now


def piano_roll_png(notes: Sequence[RollNote], path: str | Path, *, title: str = "",
                   marks: Sequence[tuple[float, str]] = ()) -> Path:
    """Draw pitched notes as bars over time (one colour per track) with section marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pitched = [n for n in notes if not n.drums]
    tracks = sorted({n.track for n in pitched})
    fig, ax = plt.subplots(figsize=(14, 5), dpi=100)
    for i, name in enumerate(tracks):
        mine = [n for n in pitched if n.track == name]
        for pitch in sorted({n.pitch for n in mine}):
            ranges = [(n.start, max(n.end - n.start, 0.02)) for n in mine if n.pitch == pitch]
            ax.broken_barh(ranges, (pitch - 0.4, 0.8), facecolors=f"C{i % 10}", label=name if pitch == mine[0].pitch else None)
    end = max((n.end for n in notes), default=1.0)
    for when, label in marks:
        ax.axvline(when, color="0.6", linewidth=0.8)
        ax.text(when, 1.0, f" {label}", transform=ax.get_xaxis_transform(), fontsize=8, va="bottom")
    ax.set_xlim(0, end)
    if pitched:
        ax.set_ylim(min(n.pitch for n in pitched) - 2, max(n.pitch for n in pitched) + 2)
    ax.set_xlabel("seconds")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title, pad=16)
    if tracks:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(str(path))
    plt.close(fig)
    return Path(path)


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


# ---------------------------------------------------------------- render anything


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
    starting tempo, ``instrument`` (a name such as piano or strings) the instrument.
    """
    if tempo is not None:
        check_tempo(tempo)
    program = resolve_instrument(instrument) if instrument else None
    text = str(source).strip()
    path = Path(text).expanduser()
    is_file = path.suffix.lower() in (".mid", ".midi", ".musicxml", ".xml", ".mxl")
    if is_file and not path.is_file():
        raise ToolError(f"The file {path} does not exist; check the path.")
    name = slug(path.stem if is_file else text) + "-" + short_hash(text, tempo, instrument)
    notes: list[str] = []
    with staged_folder(out_dir, name) as (tmp, final):
        midi_path = tmp / "song.mid"
        if not is_file:
            score = _chord_score(text, tempo or 100.0, program if program is not None else 0)
            write_midi(score, midi_path)
            played_tempo = score.tempo
            (tmp / "chords.txt").write_text(chord_chart(score), encoding="utf-8")
        else:
            source_midi = path
            if path.suffix.lower() != ".mid" and path.suffix.lower() != ".midi":
                source_midi = tmp / "source.mid"
                _musicxml_to_midi(path, source_midi)
            midi, played_tempo, had_tempo = _retimed_midi(source_midi, tempo, program)
            if not had_tempo and tempo is None:
                notes.append("The file sets no tempo, so it played at the MIDI default of 120 BPM.")
            midi.save(str(midi_path))
            if source_midi != path:
                source_midi.unlink()
        roll, length = midi_roll(midi_path)
        duration = render_midi_to_wav(midi_path, tmp / "song.wav", ogg_path=tmp / "song.ogg", max_seconds=length,
                                      soundfont=soundfont)
        piano_roll_png(roll, tmp / "piano-roll.png", title=f"{path.name if is_file else text} at {played_tempo:g} BPM")
        produced = sorted(p.name for p in tmp.iterdir())
    files = tuple(OutputFile.of(final / n, _DESCRIPTIONS.get(n, "")) for n in produced)
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
    return _DESCRIPTIONS.get(name, "")

