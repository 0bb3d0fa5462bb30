"""Key (and tempo) on real recordings with a labelled key, and on renders in many keys.

    python bench/keys_real.py [--backend auto|madmom|librosa] [--data ../shared/data/audio] [--no-renders]

One table: clip (the labelled real recordings, whole and in 20-s excerpts like the issue's 22-s take), the true key and tempo (from the clip's metadata or title; a render's MIDI), the
measured key, its confidence and the evidence that decided it (``Analysis.key_backend``), the
measured tempo, and a verdict. A key is "right" with the same tonic and mode, "close" when it is
the relative, the dominant/subdominant or the parallel key, "tonic" when the truth names only a
tonic and it matches, "NONE" when no key was given.

The Brahms recording's metadata names the piece's original key, F# minor; the key network, the
chords and the chroma profile all hear G minor (tuning offset about 0.01 semitone), the key the
well-known orchestral arrangement is in, so its "wrong" is more likely the label than the analysis.

The renders are of two kinds: the piano/bass/drums songs of bench/analysis.py, and nylon-guitar
bossa-nova takes (syncopated, humanised, maj7/dom7 colour, I-IV-V like the GuitarSet take of
issue #16) written here.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from analysis import DEFAULT_DATA, REAL, SONGS, key_category, tempo_ok  # noqa: E402
from analysis import write_song as write_piano_song  # noqa: E402

from tools.listening.analyze import analyze_audio  # noqa: E402
from tools.music.harmony import note_pc  # noqa: E402
from tools.rendering.synth import render_midi_to_wav  # noqa: E402

EXCERPT_SECONDS = 20


@dataclass(frozen=True)
class GuitarTake:
    """A bossa-nova guitar take: one chord per ``bars_per_chord`` bars, nylon guitar with a thumbed bass."""

    name: str
    key: str
    chords: tuple[str, ...]
    bpm: float = 130
    bars_per_chord: int = 2
    seed: int = 0


GUITAR_TAKES = [
    GuitarTake("bossa in Eb", "Eb major", ("Eb", "Ab", "Eb", "Bb", "Ab", "Eb")),   # the clip of issue #16
    GuitarTake("bossa in A", "A major", ("A", "D", "A", "E", "D", "A"), 120, seed=1),
    GuitarTake("bossa in G", "G major", ("G", "C", "G", "D", "C", "G"), 140, seed=2),
    GuitarTake("bossa in Db", "Db major", ("Db", "Gb", "Db", "Ab", "Gb", "Db"), 110, seed=3),
    GuitarTake("bossa in D minor", "D minor", ("Dm", "Gm", "Dm", "A", "Gm", "Dm"), 125, seed=4),
    GuitarTake("bossa in B minor", "B minor", ("Bm", "Em", "Bm", "F#", "Em", "Bm"), 135, seed=5),
    GuitarTake("bossa in C minor", "C minor", ("Cm", "Fm", "Cm", "G", "Fm", "Cm"), 115, seed=6),
]
# Syncopated comping (beats within a 4/4 bar) and the thumb's bass (beat, 0 = root / 7 = fifth).
_COMP = (0.0, 1.5, 2.5, 3.0)
_THUMB = ((0.0, 0), (1.5, 7), (2.0, 7), (3.5, 0))


def guitar_voicing(chord: str, colour: bool) -> list[int]:
    """MIDI notes of a close guitar voicing around the open position: root, 5th, 7th (maj7 / b7 on V), 3rd."""
    minor = chord.endswith("m")
    root = 48 + note_pc(chord.rstrip("m"))          # C3 .. B3
    third = root + (15 if minor else 16)
    seventh = root + (10 if minor else 11) if colour else root + 12
    return [root, root + 7, seventh, third]


def write_guitar_take(take: GuitarTake, path: Path) -> Path:
    """The take as MIDI: nylon guitar (GM 24) strummed with jittered timing and velocity, bass on the thumb."""
    rng = random.Random(take.seed)
    tpb, events = 480, []                            # (tick, note, velocity, length in ticks)
    tonic = take.key.split()[0]
    for i, chord in enumerate(take.chords):
        dominant = note_pc(chord.rstrip("m")) == (note_pc(tonic) + 7) % 12
        voicing = guitar_voicing(chord, colour=True)
        if dominant and not chord.endswith("m"):
            voicing[2] -= 1                          # V7, not Vmaj7
        root = voicing[0] - 12
        for bar in range(take.bars_per_chord):
            start = (i * take.bars_per_chord + bar) * 4 * tpb
            for beat in _COMP:
                tick = max(0, start + int(beat * tpb) + rng.randint(-12, 12))
                for s, note in enumerate(voicing[1:]):     # a soft, quick strum over the upper strings
                    events.append((tick + 8 * s, note, rng.randint(50, 80), int(0.45 * tpb)))
            for beat, interval in _THUMB:
                tick = start + int(beat * tpb) + rng.randint(-10, 10)
                events.append((max(0, tick), root + interval, rng.randint(70, 95), int(0.9 * tpb)))
    mid = mido.MidiFile(ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(take.bpm)))
    track.append(mido.Message("program_change", program=24, channel=0))
    timeline = sorted([(t, 1, n, v) for t, n, v, _ in events] + [(t + d, 0, n, 0) for t, n, _, d in events])
    now = 0
    for tick, on, note, velocity in timeline:
        track.append(mido.Message("note_on" if on else "note_off", note=note, velocity=velocity, time=tick - now))
        now = tick
    mid.save(path)
    return path


def verdict(estimate: str | None, truth: str | None) -> str:
    """right / close / wrong / NONE (no key given) / tonic (truth names a tonic only) / - (no truth)."""
    if truth is None:
        return "-"
    category = key_category(estimate, truth)
    return {"exact": "right", "exact tonic": "tonic", "none": "NONE", "other": "wrong"}.get(category, "close")


def print_row(clip: str, key: str | None, bpm: float | None, a) -> str:
    """One table row; returns the verdict."""
    result = verdict(a.key, key)
    tempo_mark = "" if bpm is None else " ok" if tempo_ok(a.tempo_bpm, bpm) else " NO"
    print(f"{clip[:30]:<31}{key or '-':>10}{bpm or '-':>6}{a.key or '-':>11}{a.key_confidence:>6.2f}  "
          f"{(a.key_backend or a.key_unclear_reason or '-')[:34]:<35}{(a.tempo_bpm or 0):>6.1f}{tempo_mark:<4}{result:>6}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto", choices=["auto", "madmom", "librosa"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the real recordings")
    parser.add_argument("--no-renders", action="store_true", help="only the real recordings")
    args = parser.parse_args()
    print(f"{'clip':<31}{'true key':>10}{'bpm':>6}{'measured':>11}{'conf':>6}  {'decided by (or why none)':<35}"
          f"{'tempo':>6}{'':<4}{'key':>6}")
    tally: dict[str, list[str]] = {}
    for stem, bpm, key, _source in REAL:
        path = args.data / f"{stem}.ogg"
        if path.exists():
            tally.setdefault("real", []).append(print_row(stem, key, bpm, analyze_audio(path, backend=args.backend)))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for stem, _bpm, key, _source in REAL:
            path = args.data / f"{stem}.ogg"
            if not key or not path.exists():
                continue
            samples, rate = sf.read(path, dtype="float32", always_2d=True)
            step = EXCERPT_SECONDS * rate
            for start in range(0, len(samples) - step + 1, step):
                wav = tmp / f"excerpt-{start // rate}.wav"
                sf.write(wav, samples[start:start + step].mean(axis=1), rate)
                a = analyze_audio(wav, backend=args.backend)
                tally.setdefault("real excerpts", []).append(print_row(f"{stem[:20]} @{start // rate}s", key, None, a))
        if not args.no_renders:
            for take in GUITAR_TAKES:
                wav = tmp / f"{take.name}.wav"
                render_midi_to_wav(write_guitar_take(take, tmp / f"{take.name}.mid"), wav)
                a = analyze_audio(wav, backend=args.backend)
                tally.setdefault("guitar renders", []).append(print_row(take.name, take.key, take.bpm, a))
            for song in SONGS:
                wav = tmp / f"{song.name}.wav"
                render_midi_to_wav(write_piano_song(song, tmp / f"{song.name}.mid"), wav)
                a = analyze_audio(wav, backend=args.backend)
                tally.setdefault("piano renders", []).append(print_row(song.name, song.key, song.bpm, a))
    print()
    for group, verdicts in tally.items():
        judged = [v for v in verdicts if v != "-"]
        counts = {v: judged.count(v) for v in ("right", "tonic", "close", "wrong", "NONE")}
        print(f"{group:<16}{len(judged)} with a known key: " + ", ".join(f"{v} {n}" for v, n in counts.items() if n))


if __name__ == "__main__":
    main()
