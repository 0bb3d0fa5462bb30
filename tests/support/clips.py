"""Small real audio clips for index tests: MIDI songs with a known instrument, tempo and drums, rendered by fluidsynth."""

from __future__ import annotations

from pathlib import Path

import mido


def write_midi(path: Path, program: int, bpm: int, drums: bool, seconds: float = 5.0) -> Path:
    """A I-V-vi-IV song: chords and a melody on ``program``, a kick/snare/hat groove when ``drums``."""
    tpb, mid = 480, mido.MidiFile(ticks_per_beat=480)
    meta, lead, kit = mido.MidiTrack(), mido.MidiTrack(), mido.MidiTrack()
    mid.tracks += [meta, lead, kit]
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    lead.append(mido.Message("program_change", program=program))
    beats = int(seconds * bpm / 60) + 1
    roots = [60, 67, 69, 65]
    for beat in range(beats):
        root = roots[(beat // 4) % 4]
        notes = [root - 12, root - 12 + (3 if root == 69 else 4), root - 5, root + 2 * (beat % 4)]
        for n in notes:
            lead.append(mido.Message("note_on", note=n, velocity=90, time=0))
        for i, n in enumerate(notes):
            lead.append(mido.Message("note_off", note=n, velocity=0, time=tpb if i == 0 else 0))
        if drums:
            for hit in (36 if beat % 2 == 0 else 38, 42):
                kit.append(mido.Message("note_on", note=hit, velocity=110, channel=9, time=0))
            kit.append(mido.Message("note_off", note=42, velocity=0, channel=9, time=tpb))
    mid.save(path)
    return path


def render_clip(path: Path, program: int = 0, bpm: int = 100, drums: bool = False, seconds: float = 5.0) -> Path:
    """A WAV at ``path`` (22.05 kHz) of :func:`write_midi`'s song; returns ``path``."""
    from tools.rendering.synth import render_midi_to_wav

    midi = write_midi(path.with_suffix(".mid"), program, bpm, drums, seconds)
    render_midi_to_wav(midi, path, sample_rate=22050)
    midi.unlink()
    return path
