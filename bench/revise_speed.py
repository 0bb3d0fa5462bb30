"""How long does a follow-up edit take? Each revision of a 3-minute song that needs no new lyrics, timed
end to end (read the song back, edit, write the new version: MIDI, WAV, OGG, lead sheet, chart, roll).

    python bench/revise_speed.py [--seconds 180] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.song.compose import compose_song  # noqa: E402
from tools.song.revise import Revision, revise_song  # noqa: E402
from tools.song.song import SongRequest, load_song  # noqa: E402

LYRICS = ("[Verse 1]\nI packed my bags at the break of day\nThe old road called me far away\n"
          "The morning fog was thick and grey\nI never thought I'd leave this way\n"
          "[Chorus]\nGoodbye, goodbye, my little town\nI'll carry you when the sun goes down\n"
          "[Verse 2]\nThe station clock was ticking slow\nThe platform lights were burning low\n"
          "[Chorus]\nGoodbye, goodbye, my little town\nI'll carry you when the sun goes down\n")
EDITS = {
    "faster (tempo x1.15)": Revision(tempo_factor=1.15),
    "major key": Revision(mode="major"),
    "piano only": Revision(instruments=("piano",)),
    "add strings, no bass": Revision(add_instruments=("strings",), remove_instruments=("bass",)),
    "new chorus chords": Revision(section="chorus", regenerate="chords"),
    "drop intro, repeat chorus": Revision(drop_section="intro", repeat_last_chorus=True),
    "another take": Revision(new_take=True),
    "as rock": Revision(genre="rock"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the song")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="revise-"))
    song = compose_song(SongRequest(prompt="leaving home", genre="folk", mood="sad", lyrics=LYRICS, seed=3,
                                    length_seconds=args.seconds), llm=None, out_dir=out)
    revise_song(song, Revision(tempo=90))   # warm: the chord model, fluidsynth, matplotlib
    print(f"song: {song.duration_seconds:.0f} s, {len(song.sections)} sections, {len(song.melody)} melody notes")
    print()
    print(f"| {'edit':<28} | {'median s':>8} | {'max s':>6} |")
    print(f"|{'-' * 30}|{'-' * 10}|{'-' * 8}|")
    worst = []
    for name, revision in EDITS.items():
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            revise_song(load_song(song.folder), revision)
            times.append(time.perf_counter() - t0)
        worst.append(max(times))
        print(f"| {name:<28} | {statistics.median(times):>8.2f} | {max(times):>6.2f} |")
    print()
    print(f"slowest edit: {max(worst):.2f} s (target 3 s for a 3-minute song)")


if __name__ == "__main__":
    main()
