"""Text search finds real recordings: the 8 shared recordings in one index with demo renders, one plain query each.

    python bench/retrieval_real.py [--home DIR] [--clips 40] [--audio ../shared/data/audio]

Builds (or reuses) a mixed index: the demo renders of :func:`training.index_demo.build_demo` (with their
true tags) plus the real recordings, indexed from their audio alone (analysis + the musicnn tagger's tags;
no metadata). For each real recording a plain description (what someone looking for it would type) is
searched; the target is rank <= 3. Prints the rank table and the real clip's indexed tags, then, for
"more like this", the nearest real neighbour of each real recording.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import ClipIndex  # noqa: E402
from training.index_demo import build_demo  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# recording -> the query someone looking for it would type (from its .txt metadata, not from its tags)
QUERIES = {
    "sorohanro_-_solo-trumpet-06.ogg": "solo trumpet",
    "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).ogg": "string orchestra",
    "442789__lena-orsa__happy-music-pistachio-ice-cream-ragtime.ogg": "ragtime piano",
    "admiralbob77_-_Choice_-_Drum-bass.ogg": "drum and bass",
    "Karissa_Hobbs_-_Lets_Go_Fishin.ogg": "a woman singing with guitar",
    "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg": "Tchaikovsky ballet, classical orchestra",
    "Kevin_MacLeod_-_Vibe_Ace.ogg": "jazz with vibraphone",
    "147793__setuniman__sweet-waltz-0i-22mi.ogg": "a sweet waltz",
}
TARGET_RANK = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default="/tmp/bandmate-bench-retrieval-real")
    parser.add_argument("--clips", type=int, default=40, help="demo renders beside the real recordings")
    parser.add_argument("--audio", type=Path, default=REPO.parent / "shared" / "data" / "audio")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    index = ClipIndex(Path(args.home))
    demo = build_demo(index, n_clips=args.clips, workers=args.workers, progress=False)
    real = [str((args.audio / name).resolve()) for name in QUERIES]
    report = index.add(real, workers=args.workers, progress=False)
    print(f"index: {len(demo.clips)} demo renders + {len(real)} real recordings ({report.summary()}); "
          f"built in {time.perf_counter() - start:.0f} s")

    print(f"\n## Text search (target: rank <= {TARGET_RANK} of {index.stats().clips} clips)")
    print("| recording | query | rank | hit | indexed tags |\n|---|---|---|---|---|")
    hits_at_target = 0
    for name, path in zip(QUERIES, real):
        results = [h.path for h in index.search(QUERIES[name], k=20)]
        rank = results.index(path) + 1 if path in results else None
        hits_at_target += bool(rank and rank <= TARGET_RANK)
        row = next(c for c in index.clips() if c.path == path)
        print(f"| {name[:40]} | {QUERIES[name]} | {rank or '>20'} | {'yes' if rank and rank <= TARGET_RANK else 'no'}"
              f" | {', '.join(row.tags[:8])} |")
    print(f"\n{hits_at_target} of {len(QUERIES)} real recordings at rank <= {TARGET_RANK}")

    print("\n## More like this: each real recording's nearest neighbours (audio vector incl. tag probabilities)")
    print("| recording | 1st | 2nd | 3rd |\n|---|---|---|---|")
    for name, path in zip(QUERIES, real):
        near = [Path(h.path).name[:28] for h in index.similar(path, k=4) if h.path != path][:3]
        print(f"| {name[:40]} | " + " | ".join(near) + " |")


if __name__ == "__main__":
    main()
