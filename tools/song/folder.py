"""A song written into its own folder: MIDI, WAV and OGG audio, the MusicXML lead sheet and its engraving
(SVG and PNG pages), a chord chart, the lyrics, a piano roll and ``song.json``.

The files are made in a temporary folder that is renamed into place only when all of
them are done, so a failure never leaves half a song behind. A revision is a new folder
beside the first one (``<name>-v2``, ``<name>-v3``...); earlier versions are never touched.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from core.outputs import OutputFile
from tools.rendering.engrave import start_engraving
from tools.rendering.leadsheet import write_musicxml
from tools.rendering.midi import write_midi
from tools.rendering.pictures import piano_roll_png, score_roll
from tools.rendering.render import chord_chart, describe, staged_folder
from tools.rendering.synth import start_wav_render
from tools.song.song import SONG_FILE, Song


def version_name(first_folder: Path, version: int) -> str:
    """The folder name of ``version`` of the song whose first version is ``first_folder``."""
    base = re.sub(r"-v\d+$", "", first_folder.name)
    return base if version == 1 else f"{base}-v{version}"


def write_song(
    song: Song,
    out_dir: str | Path,
    name: str,
    *,
    render_audio: bool = True,
    soundfont: str | Path | None = None,
    lap: Callable[[str], None] | None = None,
) -> Song:
    """Write ``song`` into the new folder ``out_dir/name``; returns it with its folder, files and duration.

    ``lap(stage)`` is called after each stage, for timings.
    """
    lap = lap or (lambda stage: None)
    score = song.score
    with staged_folder(out_dir, name) as (tmp, final):
        write_midi(score, tmp / "song.mid")
        lap("midi")
        # fluidsynth renders on the other core while the lead sheet and pictures are written here; the
        # engraved lead sheet's PNG pages are drawn in a thread meanwhile (most of the wait is fluidsynth's).
        wav_job = start_wav_render(tmp / "song.mid", tmp / "song.wav", ogg_path=tmp / "song.ogg",
                                   max_seconds=score.duration_seconds, soundfont=soundfont) if render_audio else None
        try:
            write_musicxml(score, tmp / "lead-sheet.musicxml", composer=song.artist)
            engraving = start_engraving(tmp / "lead-sheet.musicxml", tmp)
            lap("musicxml, lead sheet SVG")
            header = [f"Genre: {song.genre}" + (f"   Mood: {song.mood}" if song.mood else "")]
            (tmp / "chords.txt").write_text(chord_chart(score, header), encoding="utf-8")
            (tmp / "lyrics.txt").write_text(f"{song.title}\n\n{song.lyrics.text()}\n", encoding="utf-8")
            marks = [(s.start_bar * score.beats_per_bar * score.seconds_per_beat, s.label) for s in score.sections]
            version = f", v{song.version}" if song.version > 1 else ""
            piano_roll_png(score_roll(score), tmp / "piano-roll.png",
                           title=f"{song.title} ({song.genre}, {song.key}, {song.tempo:g} BPM{version})", marks=marks)
            lap("chart, piano roll")
            duration = score.duration_seconds
            if wav_job:
                duration = wav_job.wait()
                lap("wav + ogg (rest of render)")
            engraving.wait()
            lap("lead sheet PNG (rest of drawing)")
        finally:
            if wav_job:
                wav_job.cancel()
        produced = sorted(p.name for p in tmp.iterdir()) + [SONG_FILE]
        written = replace(song, folder=final, duration_seconds=duration,
                          files=tuple(OutputFile.of(final / n, describe(n)) for n in produced))
        (tmp / SONG_FILE).write_text(json.dumps(written.to_dict(), indent=1), encoding="utf-8")
    return written


class Stopwatch:
    """Stage timings: ``lap("lyrics")`` records the seconds since the previous lap."""

    def __init__(self) -> None:
        self.timings: list[tuple[str, float]] = []
        self._clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings.append((stage, now - self._clock))
        self._clock = now
