"""A :class:`Score` as a standard MIDI file (type 1, one track per part, tempo and section markers)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import mido

from tools.music.score import Score

TICKS_PER_BEAT = 480


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
