"""Songs written as MIDI with an exactly known tempo, meter, key and chord per bar, for tests and bench/analysis.py."""

from __future__ import annotations

from pathlib import Path

import mido

NOTE = {"C": 60, "C#": 61, "Db": 61, "D": 62, "Eb": 63, "E": 64, "F": 65, "F#": 66,
        "G": 67, "Ab": 68, "A": 69, "Bb": 70, "B": 71}


def write_song(path: Path, chords: list[str], bpm: float, *, beats_per_bar: int = 4, bars_per_chord: int = 1,
               drums: bool = True, waltz: bool = False, repeats: int = 4) -> Path:
    """A MIDI song: piano chords on every beat (oom-pah-pah when ``waltz``), bass roots, optional GM drums."""
    tpb = 480
    mid = mido.MidiFile(ticks_per_beat=tpb)
    meta, piano, bass, kit = (mido.MidiTrack() for _ in range(4))
    mid.tracks.extend([meta, piano, bass, kit])
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    meta.append(mido.MetaMessage("time_signature", numerator=beats_per_bar, denominator=4))
    bass.append(mido.Message("program_change", program=33, channel=1))
    for chord in chords * repeats:
        root = NOTE[chord.rstrip("m")]
        root -= 12 if root > 64 else 0
        triad = [root, root + (3 if chord.endswith("m") else 4), root + 7]
        for _ in range(bars_per_chord):
            for beat in range(beats_per_bar):
                notes = [root - 12] if waltz and beat == 0 else triad
                for n in notes:
                    piano.append(mido.Message("note_on", note=n, velocity=100 if beat == 0 else 70, time=0))
                for i, n in enumerate(notes):
                    piano.append(mido.Message("note_off", note=n, velocity=0, time=tpb if i == 0 else 0))
            bass.append(mido.Message("note_on", note=root - 24, velocity=90, channel=1, time=0))
            bass.append(mido.Message("note_off", note=root - 24, velocity=0, channel=1, time=tpb * beats_per_bar))
            for beat in range(beats_per_bar if drums else 0):     # kick/snare on the beat, hi-hat in eighths
                hit = 36 if beat in (0, 2) else 38
                kit.append(mido.Message("note_on", note=hit, velocity=100, channel=9, time=0))
                kit.append(mido.Message("note_on", note=42, velocity=70, channel=9, time=0))
                kit.append(mido.Message("note_off", note=hit, velocity=0, channel=9, time=tpb // 2))
                kit.append(mido.Message("note_off", note=42, velocity=0, channel=9, time=0))
                kit.append(mido.Message("note_on", note=42, velocity=60, channel=9, time=0))
                kit.append(mido.Message("note_off", note=42, velocity=0, channel=9, time=tpb // 2))
    mid.save(path)
    return path


def render(tmp: Path, name: str, *args, **kwargs) -> Path:
    from tools.rendering.synth import render_midi_to_wav

    midi = write_song(tmp / f"{name}.mid", *args, **kwargs)
    render_midi_to_wav(midi, tmp / f"{name}.wav")
    return tmp / f"{name}.wav"
