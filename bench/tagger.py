"""The musicnn tagger: the port against the original TensorFlow graph, then per-tag results on real recordings
and on renders whose instrument is known.

    python bench/tagger.py [--renders 16]

1. Port: max |ours - TensorFlow| over tests/fixtures/musicnn_golden.npz (scripts/musicnn_golden.py made it).
2. The 8 shared recordings (../shared/data/audio), labelled from their .txt metadata (LABELS): each one's top
   tags, and whether its top instrument / genre tag is in the labelled set.
3. Renders (tools.rendering, fluidsynth): a chord progression on one General MIDI instrument, no drums; the
   probability of the MagnaTagATune tag that names it, and its rank among the instrument tags.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AUDIO = REPO.parent / "shared" / "data" / "audio"
# What the 8 shared recordings are, from their .txt metadata (title, album, credits); None: the metadata
# does not say, so that kind is not scored. An empty instrument set: the instrument (a trumpet) is in neither
# musicnn taxonomy, so only "I can't tell" is right. The drum-and-bass excerpt's bass is a bass guitar,
# which is not counted as MagnaTagATune's "guitar".
LABELS = {
    "147793__setuniman__sweet-waltz-0i-22mi.ogg":
        {"instruments": None, "vocals": None, "genre": None, "mood": {"beautiful", "mellow", "happy", "soft"}},
    "442789__lena-orsa__happy-music-pistachio-ice-cream-ragtime.ogg":
        {"instruments": {"piano"}, "vocals": "none", "genre": {"jazz", "blues", "classical", "classic",
                                                              "easy listening"}, "mood": {"happy"}},
    "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).ogg":
        {"instruments": {"strings", "violin", "cello"}, "vocals": "none", "genre": {"classical", "classic"},
         "mood": None},
    "Karissa_Hobbs_-_Lets_Go_Fishin.ogg":
        {"instruments": None, "vocals": "female", "genre": None, "mood": None},
    "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg":
        {"instruments": None, "vocals": "none", "genre": {"classical", "classic"}, "mood": None},
    "Kevin_MacLeod_-_Vibe_Ace.ogg":
        {"instruments": None, "vocals": "none", "genre": {"jazz"}, "mood": None},
    "admiralbob77_-_Choice_-_Drum-bass.ogg":
        {"instruments": {"drums"}, "vocals": "none", "genre": None, "mood": None},
    "sorohanro_-_solo-trumpet-06.ogg":
        {"instruments": set(), "vocals": "none", "genre": {"jazz", "blues"}, "mood": None},
}
# General MIDI program -> the MagnaTagATune tag that names it
RENDERED = {0: "piano", 6: "harpsichord", 24: "guitar", 40: "violin", 42: "cello", 46: "harp", 48: "strings",
            73: "flute", 81: "synth", 104: "sitar"}


def port() -> None:
    from tools.models import load

    golden = np.load(REPO / "tests" / "fixtures" / "musicnn_golden.npz")
    print("## Port vs the original TensorFlow graph (same input patches)\n| model | max abs diff |\n|---|---|")
    for name, key in (("musicnn-mtt", "MTT_musicnn"), ("musicnn-msd", "MSD_musicnn")):
        diff = np.abs(load(name, device="cpu").tag_patches(golden["patches_0"]) - golden[f"{key}_0"]).max()
        print(f"| {name} | {diff:.2e} |")


def real() -> None:
    from tools.listening.tagger import tag_track

    print("\n## The 8 shared recordings\n| recording | top instrument | right? | top genre | right? | top tags |")
    print("|---|---|---|---|---|---|")
    score = {"instrument": [0, 0], "genre": [0, 0]}
    for name, label in LABELS.items():
        track = tag_track(AUDIO / name)
        cells = []
        for head, key in (("instrument", "instruments"), ("genre", "genre")):
            top = track.aspect(head)[0]
            ok = "-" if label[key] is None else ("yes" if top.label in label[key] else "no")
            if label[key] is not None:
                score[head][0] += ok == "yes"
                score[head][1] += 1
            cells += [f"{top.label} {top.probability:.2f}", ok]
        tops = ", ".join(f"{t.label} {t.probability:.2f}" for t in track.tags[:5])
        print(f"| {name[:38]} | {' | '.join(cells)} | {tops} |")
    for head, (right, n) in score.items():
        print(f"top {head} tag in the labelled set: {right} of {n}")


def renders(n: int) -> None:
    from tools.listening.tagger import tag_track

    print("\n## Rendered clips with a known instrument (MagnaTagATune tags)")
    print("| instrument | program | p(tag) | rank among instrument tags | top instrument |\n|---|---|---|---|---|")
    ranks = []
    with tempfile.TemporaryDirectory() as tmp:
        for program, tag in list(RENDERED.items())[:n]:
            path = _render(Path(tmp), program)
            track = tag_track(path, model="musicnn-mtt")
            heard = [t.label for t in track.aspect("instrument")]
            ranks.append(heard.index(tag) + 1)
            print(f"| {tag} | {program} | {track.probability(tag):.2f} | {ranks[-1]} | {heard[0]} |")
    print(f"named instrument ranked first: {sum(r == 1 for r in ranks)} of {len(ranks)}, "
          f"in the top 3: {sum(r <= 3 for r in ranks)} of {len(ranks)}")


def _render(folder: Path, program: int) -> Path:
    """A 10 s C-G-Am-F progression on one General MIDI program, no drums, as a WAV."""
    import mido

    from tools.rendering.synth import render_midi_to_wav

    mid, track = mido.MidiFile(ticks_per_beat=480), mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96)))
    track.append(mido.Message("program_change", program=program))
    for bar in range(4):
        for root in (60, 67, 69, 65):
            chord = [root, root + (3 if root == 69 else 4), root + 7]
            for beat in range(4):
                notes = chord if beat == 0 else [chord[beat % 3] + 12]
                for n in notes:
                    track.append(mido.Message("note_on", note=n, velocity=90, time=0))
                for i, n in enumerate(notes):
                    track.append(mido.Message("note_off", note=n, velocity=0, time=480 if i == 0 else 0))
    midi = folder / f"p{program}.mid"
    mid.save(midi)
    render_midi_to_wav(midi, folder / f"p{program}.wav", max_seconds=10.0, sample_rate=22050)
    return folder / f"p{program}.wav"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=len(RENDERED), help="how many instruments to render")
    args = parser.parse_args()
    start = time.perf_counter()
    port()
    real()
    renders(args.renders)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
