"""Audio-analysis accuracy and speed: renders with known truth, the real clips in shared/data, a 3-minute file.

    python bench/analysis.py [--backend auto|madmom|librosa] [--data ../shared/data/audio] [--skip-speed]

Tables: tempo within 4 % (and allowing half/double), key (exact / relative /
fifth / parallel / other, MIREX categories), meter, chord recall (time-weighted
and distinct symbols) on fluidsynth renders of MIDI songs written here; the same
facts on the real recordings, against their metadata where it states them; and
seconds to analyze a 3-minute file (target: 10 s on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.known_songs import write_song as write_known_song  # noqa: E402
from tools.listening.analyze import analyze_audio, key_pitch_class  # noqa: E402
from tools.rendering.synth import render_midi_to_wav  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "audio"


@dataclass(frozen=True)
class KnownSong:
    """A song written as MIDI, so its tempo, meter, key and chords are known exactly."""

    name: str
    key: str
    chords: tuple[str, ...]
    bpm: float
    beats_per_bar: int = 4
    bars_per_chord: int = 1
    drums: bool = True
    waltz: bool = False
    repeats: int = 4


SONGS = [
    KnownSong("pop in C", "C major", ("C", "G", "Am", "F"), 120),
    KnownSong("waltz in G", "G major", ("G", "D", "Em", "C"), 150, 3, 2, drums=False, waltz=True),
    KnownSong("ballad in A minor", "A minor", ("Am", "Dm", "E", "Am"), 90, drums=False),
    KnownSong("rock in Eb", "Eb major", ("Eb", "Cm", "Ab", "Bb"), 100, repeats=3),
    KnownSong("dance in F# minor", "F# minor", ("F#m", "D", "A", "E"), 128),
    KnownSong("slow Bb", "Bb major", ("Bb", "Gm", "Eb", "F"), 76, drums=False, repeats=3),
    KnownSong("fast D", "D major", ("D", "Bm", "G", "A"), 140, bars_per_chord=2),
    KnownSong("minor waltz", "E minor", ("Em", "Am", "B", "Em"), 105, 3, 2, drums=False, waltz=True),
    KnownSong("dirge in C minor", "C minor", ("Cm", "Ab", "Fm", "G"), 64, drums=False, repeats=3),
]
# Real recordings: (file stem, tempo, key, where the truth comes from).
REAL = [
    ("sorohanro_-_solo-trumpet-06", 90, "F", "metadata: 'Trumpet Loops Pack in F 90 bpm' (tonic only: blues/Dorian)"),
    ("Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra)", None, "F# minor", "title"),
    ("Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy", None, "E minor", "the piece's key"),
    ("147793__setuniman__sweet-waltz-0i-22mi", None, None, ""),
    ("442789__lena-orsa__happy-music-pistachio-ice-cream-ragtime", None, None, ""),
    ("Karissa_Hobbs_-_Lets_Go_Fishin", None, None, ""),
    ("Kevin_MacLeod_-_Vibe_Ace", None, None, ""),
    ("admiralbob77_-_Choice_-_Drum-bass", None, None, ""),
]


def write_song(song: KnownSong, path: Path) -> Path:
    """Piano chords on each beat (oom-pah-pah for a waltz), bass roots, GM drums when asked."""
    return write_known_song(path, list(song.chords), song.bpm, beats_per_bar=song.beats_per_bar,
                            bars_per_chord=song.bars_per_chord, drums=song.drums, waltz=song.waltz,
                            repeats=song.repeats)


def key_category(estimate: str | None, truth: str) -> str:
    """MIREX key categories; a truth without a mode ("F") is judged on the tonic only."""
    if not estimate:
        return "none"
    est_pc, est_mode = key_pitch_class(estimate)
    if " " not in truth:
        return "exact tonic" if est_pc == key_pitch_class(f"{truth} major")[0] else "other"
    pc, mode = key_pitch_class(truth)
    if (est_pc, est_mode) == (pc, mode):
        return "exact"
    if est_mode != mode and est_pc == (pc + (9 if mode == "major" else 3)) % 12:
        return "relative"
    if est_mode == mode and est_pc in ((pc + 7) % 12, (pc + 5) % 12):
        return "fifth"
    return "parallel" if est_pc == pc else "other"


def tempo_ok(estimate: float | None, truth: float, octaves: bool = False) -> bool:
    factors = (0.5, 1.0, 2.0, 1 / 3, 3.0) if octaves else (1.0,)
    return bool(estimate) and any(abs(estimate - truth * f) <= 0.04 * truth * f for f in factors)


def chord_recall(analysis, song: KnownSong) -> tuple[float, float]:
    """(time-weighted recall, share of distinct chord symbols found)."""
    span = 60 / song.bpm * song.beats_per_bar * song.bars_per_chord
    hit = 0.0
    for i, truth in enumerate(song.chords * song.repeats):
        t0, t1 = i * span, (i + 1) * span
        hit += sum(max(0.0, min(t1, c.end) - max(t0, c.start)) for c in analysis.chords if c.label == truth)
    symbols = set(song.chords)
    return hit / (span * len(song.chords) * song.repeats), len(symbols & set(analysis.chord_labels)) / len(symbols)


def bench_renders(backend: str, tmp: Path) -> None:
    print(f"\nRenders with known truth ({backend} backend)")
    print(f"{'song':<20}{'tempo':>7}{'est':>8}{'±4%':>5}{'meter':>7}{'est':>6}{'key':>10}{'est':>11}"
          f"{'category':>11}{'chords t':>10}{'symbols':>9}{'drums':>7}{'s':>6}")
    rows = []
    for song in SONGS:
        wav = tmp / f"{song.name}.wav"
        render_midi_to_wav(write_song(song, tmp / f"{song.name}.mid"), wav)
        a = analyze_audio(wav, backend=backend)
        recall, symbols = chord_recall(a, song)
        rows.append((tempo_ok(a.tempo_bpm, song.bpm), tempo_ok(a.tempo_bpm, song.bpm, True),
                     a.beats_per_bar == song.beats_per_bar, key_category(a.key, song.key), recall, symbols,
                     a.drums_present == song.drums))
        print(f"{song.name:<20}{song.bpm:>7.0f}{a.tempo_bpm or 0:>8.1f}{'yes' if rows[-1][0] else 'NO':>5}"
              f"{song.beats_per_bar:>5}/4{a.meter or '-':>6}{song.key:>10}{a.key or '-':>11}{rows[-1][3]:>11}"
              f"{recall:>10.2f}{symbols:>9.2f}{'ok' if rows[-1][6] else 'WRONG':>7}{a.seconds:>6.1f}")
    n = len(rows)
    print(f"{'summary':<20}tempo ±4% {sum(r[0] for r in rows)}/{n} (half/double allowed {sum(r[1] for r in rows)}/{n}), "
          f"meter {sum(r[2] for r in rows)}/{n}, key exact {sum(r[3] == 'exact' for r in rows)}/{n} "
          f"(+relative {sum(r[3] == 'relative' for r in rows)}), chord time recall "
          f"{statistics.mean(r[4] for r in rows):.2f}, symbol recall {statistics.mean(r[5] for r in rows):.2f}, "
          f"drums {sum(r[6] for r in rows)}/{n}")


def bench_real(backend: str, data: Path) -> None:
    print(f"\nReal recordings in {data} ({backend} backend)")
    print(f"{'clip':<28}{'s':>6}{'tempo':>7}{'truth':>6}{'meter':>6}{'key':>10}{'truth':>10}{'category':>12}"
          f"{'drums':>7}{'took':>6}  chords (first 6)")
    for stem, tempo, key, source in REAL:
        path = data / f"{stem}.ogg"
        if not path.exists():
            continue
        a = analyze_audio(path, backend=backend)
        category = key_category(a.key, key) if key else "-"
        drums = {True: "yes", False: "no", None: "?"}[a.drums_present]
        tempo_mark = ("" if tempo is None else " ok" if tempo_ok(a.tempo_bpm, tempo) else " NO")
        print(f"{stem[:27]:<28}{a.duration:>6.0f}{a.tempo_bpm or 0:>7.1f}{tempo or '-':>6}{a.meter or '-':>6}"
              f"{a.key or '-':>10}{key or '-':>10}{category:>12}{drums:>7}{a.seconds:>6.1f}  "
              f"{' '.join(a.chord_labels[:6])}{tempo_mark}")
        if source:
            print(f"{'':<28}truth from {source}")


def bench_speed(backend: str, data: Path, tmp: Path, seconds: float = 180.0) -> None:
    """Seconds to analyze a 3-minute file: cold (loading the models) and warm (median of 3)."""
    clips = sorted(data.glob("*.ogg")) if data.is_dir() else []
    if clips:
        parts, sr = [], 22050
        for clip in clips:
            audio, sr = sf.read(clip, dtype="float32", always_2d=True)
            parts.append(audio.mean(axis=1))
        signal = np.concatenate(parts)
    else:
        sr = 44100
        signal, _ = sf.read(tmp / f"{SONGS[0].name}.wav", dtype="float32")
        signal = signal.mean(axis=1)
    signal = np.resize(signal, int(seconds * sr))
    path = tmp / "three_minutes.wav"
    sf.write(path, signal, sr)
    start = time.perf_counter()
    analyze_audio(path, backend=backend)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(3):
        start = time.perf_counter()
        analyze_audio(path, backend=backend)
        warm.append(time.perf_counter() - start)
    print(f"\nSpeed: a {seconds / 60:.0f}-minute file on {os.cpu_count()} CPUs ({backend} backend; target 10 s)")
    print(f"{'first call in the process (imports, model load)':<50}{cold:>7.2f} s")
    print(f"{'warm (median of 3)':<50}{statistics.median(warm):>7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto", choices=["auto", "madmom", "librosa"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the real recordings")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_speed:  # first, so that "cold" really includes loading the models
            render_midi_to_wav(write_song(SONGS[0], tmp / f"{SONGS[0].name}.mid"), tmp / f"{SONGS[0].name}.wav")
            bench_speed(args.backend, args.data, tmp)
        bench_renders(args.backend, tmp)
        if args.data.is_dir():
            bench_real(args.backend, args.data)


if __name__ == "__main__":
    main()
