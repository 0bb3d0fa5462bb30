"""Retrieval quality on the demo collection: does a query built from a clip's known attributes find it?

    python bench/index_quality.py [--home DIR] [--clips 300] [--held-out 0.2] [--corpus DIR]

Builds (or reuses) the demo collection (``training.index_demo.build_demo``): clips rendered from real
compositions with true genre, instrument, tempo and mode. About ``--held-out`` of them are indexed
from their audio alone (analysis tags, no known tags); the rest also carry their true tags.
For every clip the query is "<mood> <genre> <instrument>, <tempo> tempo" (mood from mode and
tempo, as tools.listening.analyze words it), and we report recall@1/5/10 of that clip, for both groups.
Many clips share all four attributes, so "ties" gives the mean number of clips that match a
query exactly and "attr P@10" the share of the top 10 that match the query's attributes.
"More like this" is scored by how many of a clip's 10 nearest audio neighbours share its lead
instrument / genre / tempo class, against the share expected by chance.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import ClipIndex  # noqa: E402
from training.index_demo import build_demo  # noqa: E402

SHARED_NOTTINGHAM = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "nottingham"


def mood(clip: dict) -> str:
    fast = clip["tempo_class"] == "fast"
    if clip["mode"] == "major":
        return "upbeat happy" if fast else "calm warm"
    return "dramatic intense" if fast else "sad melancholic"


def query_for(clip: dict) -> str:
    return f"{mood(clip)} {clip['genre']} {clip['instrument']}, {clip['tempo_class']} tempo"


def attributes(clip: dict) -> tuple:
    return clip["genre"], clip["instrument"], clip["tempo_class"], clip["mode"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default="/tmp/bandmate-bench-quality")
    parser.add_argument("--corpus", default=None, help="render/reuse the clips here (default: <home>/demo/corpus)")
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    start = time.perf_counter()
    index = ClipIndex(Path(args.home))
    nottingham = str(SHARED_NOTTINGHAM.resolve()) if SHARED_NOTTINGHAM.exists() else None
    demo = build_demo(index, n_clips=args.clips, nottingham=nottingham, corpus_dir=args.corpus,
                      held_out=args.held_out, workers=args.workers, progress=False)
    print(f"demo: {len(demo.clips)} clips ({len(demo.held_out)} held out), {demo.report.summary()}; "
          f"total {time.perf_counter() - start:.0f} s")
    by_path = {c["path"]: c for c in demo.clips}
    counts = Counter(attributes(c) for c in demo.clips)

    print("\n## Text search: query from known attributes -> the clip itself")
    print("| clips | n | recall@1 | recall@5 | recall@10 | ties | attr P@10 |\n|---|---|---|---|---|---|---|")
    for name, group in (("tagged", [c for c in demo.clips if c["id"] not in demo.held_out]),
                        ("held out (audio only)", [c for c in demo.clips if c["id"] in demo.held_out])):
        ranks, precision = [], []
        for clip in group:
            hits = index.search(query_for(clip), k=10)
            paths = [h.path for h in hits]
            ranks.append(paths.index(clip["path"]) + 1 if clip["path"] in paths else 99)
            precision.append(np.mean([attributes(by_path[p]) == attributes(clip) for p in paths if p in by_path]))
        ranks = np.array(ranks)
        print(f"| {name} | {len(group)} | {np.mean(ranks <= 1):.2f} | {np.mean(ranks <= 5):.2f} | "
              f"{np.mean(ranks <= 10):.2f} | {np.mean([counts[attributes(c)] for c in group]):.1f} | "
              f"{np.mean(precision):.2f} |")

    print("\n## More like this: share of the 10 nearest audio neighbours with the same ...")
    print("| attribute | share | chance |\n|---|---|---|")
    neighbours = {c["path"]: [by_path[h.path] for h in index.similar(c["path"], k=10) if h.path in by_path]
                  for c in demo.clips}
    for attr in ("instrument", "genre", "tempo_class", "drums"):
        values = Counter(str(c[attr]) for c in demo.clips)
        chance = sum((n / len(demo.clips)) ** 2 for n in values.values())
        share = np.mean([np.mean([str(n[attr]) == str(c[attr]) for n in neighbours[c["path"]]]) for c in demo.clips])
        print(f"| {attr} | {share:.2f} | {chance:.2f} |")
    print(f"\nstats: {index.stats()}")


if __name__ == "__main__":
    main()
