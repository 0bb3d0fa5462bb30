"""How fast the songwriting pipeline is, stage by stage, for a 3-minute song (the LLM lyrics step excluded).

    python bench/compose_speed.py [--genre rock] [--length 180] [--cold] [--llm]

Prints a table of seconds and times-real-time per stage. Targets (issue 3):
everything but the lyrics within 3 s on 2 cores, rendering at 30x real time or faster.
``--llm`` also times a whole request with the configured LLM (the embedded model by
default) writing the lyrics and the genre classified from them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from tools.rendering.synth import render_midi_to_wav
from tools.song.compose import compose_song  # noqa: E402
from tools.song.song import SongRequest
from tools.songwriting.genre import classify_genre

LYRICS = """[Verse 1]
I walked along the river where the water meets the sky
Every stone remembers every tear I used to cry
The willow bends to listen and the swallows never stay
And the current keeps on pulling all my yesterdays away
[Chorus]
Carry me home, carry me home tonight
Under the stars I will find the light
Carry me home where the lanterns glow
Back to the town that I used to know
[Verse 2]
Morning comes in golden and the fields are turning brown
I can hear the church bells ringing softly in the town
There's a letter in my pocket that I never sent to you
And a promise in the river that I'm finally coming through
[Chorus]
Carry me home, carry me home tonight
Under the stars I will find the light
Carry me home where the lanterns glow
Back to the town that I used to know
[Bridge]
Miles and miles of silver road
Every turn a story told
[Chorus]
Carry me home, carry me home tonight
Under the stars I will find the light
Carry me home where the lanterns glow
Back to the town that I used to know
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genre", default="rock")
    parser.add_argument("--length", type=float, default=180.0, help="song length in seconds")
    parser.add_argument("--cold", action="store_true", help="skip the warm-up run (include first-import costs)")
    parser.add_argument("--llm", action="store_true", help="also time a whole request with the configured LLM")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if not args.cold:  # imports (music21, matplotlib) and caches, as in a running assistant
            compose_song(SongRequest(lyrics=LYRICS, genre=args.genre, length_seconds=20), llm=None, out_dir=out / "warm")
        request = SongRequest(prompt="going home", lyrics=LYRICS, genre=args.genre, length_seconds=args.length, seed=1)
        start = time.perf_counter()
        song = compose_song(request, llm=None, out_dir=out)
        total = time.perf_counter() - start
        ogg_mb = (song.folder / "song.ogg").stat().st_size / 1e6
        # The render alone (fluidsynth + trim + OGG), as `bandmate render song.mid` runs it.
        render_start = time.perf_counter()
        render_midi_to_wav(song.folder / "song.mid", out / "alone.wav", ogg_path=out / "alone.ogg",
                           max_seconds=song.score.duration_seconds)
        render = time.perf_counter() - render_start

        load_start = time.perf_counter()
        classify_genre(song.lyrics.text())
        cold_genre = time.perf_counter() - load_start
        warm_start = time.perf_counter()
        classify_genre(song.lyrics.text())
        warm_genre = time.perf_counter() - warm_start

    seconds = song.duration_seconds
    rows = [(stage, t) for stage, t in song.timings]  # render rows: what was left after the overlapped work
    rows += [("genre from lyrics (first call, loads MiniLM)", cold_genre), ("genre from lyrics (warm)", warm_genre)]
    print(f"{song.title!r}: {song.genre}, {song.key}, {song.tempo:g} BPM, {seconds:.1f} s of audio, "
          f"OGG {ogg_mb:.1f} MB, {os.cpu_count()} CPUs")
    print(f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows every row)")
    print(f"{'stage':<46}{'seconds':>9}{'x real time':>13}")
    for stage, t in rows:
        print(f"{stage:<46}{t:>9.3f}{seconds / t:>13.0f}")
    print(f"{'render alone: fluidsynth wav + ogg':<46}{render:>9.3f}{seconds / render:>13.0f}")
    print(f"{'total, lyrics given (genre named)':<46}{total:>9.3f}{seconds / total:>13.0f}")
    print(f"{'total, genre classified with a warm encoder':<46}{total + warm_genre:>9.3f}{seconds / (total + warm_genre):>13.0f}")
    if args.llm:
        whole_request(args.length)


def whole_request(length: float) -> None:
    """A prompt in, a finished song out, with the configured LLM writing the lyrics."""
    from assistant.llm import ChatTextGenerator, make_chat_model
    from core.settings import get_settings

    settings = get_settings()
    start = time.perf_counter()
    llm = ChatTextGenerator(make_chat_model(settings))
    llm.generate("Say OK.", max_tokens=2)  # loads the model
    load = time.perf_counter() - start
    # What the agent passes for "write me a sad folk song about leaving home".
    request = SongRequest(prompt="leaving home", genre="folk", mood="sad", length_seconds=length, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        song = compose_song(request, llm=llm, out_dir=Path(tmp))
        total = time.perf_counter() - start
    stages = dict(song.timings)
    words = len(song.lyrics.text().split())
    print(f"\nwhole request with {llm.name} ({settings.llm_backend} backend): a {request.mood} {request.genre} song "
          f"about {request.prompt}, {length:g} s")
    print(f"{'stage':<46}{'seconds':>9}")
    for stage, t in [("load the model (once per process)", load),
                     (f"lyrics ({words} words, {sum(len(s.lines) for s in song.lyrics.sections)} lines)", stages["lyrics"]),
                     ("everything after (chords ... wav + ogg)", total - stages["lyrics"]),
                     ("total, model already loaded", total)]:
        print(f"{stage:<46}{t:>9.2f}")


if __name__ == "__main__":
    main()
