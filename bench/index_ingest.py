"""Ingest throughput: clips per minute into a fresh index, with and without LLM captions.

    python bench/index_ingest.py [--corpus DIR] [--n 40] [--workers 2] [--llm-n 4] [--ray]

Clips are the demo corpus's 8.5-second renders (``--corpus``, default: rendered here with
training.data_synth). Each run starts from an empty BANDMATE_HOME, so model loading (madmom
networks, MiniLM) is included, as a user would see it. ``--llm-n`` clips are also indexed with
captions written by bandmate's configured LLM (the embedded GGUF model unless configured
otherwise); 0 skips that row. ``--ray`` adds a row for the Ray Data ingest with ``--workers``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import ClipIndex  # noqa: E402


def corpus_clips(corpus: str | None, n: int) -> list[Path]:
    if corpus is None:
        from training.data_synth import SynthConfig, synthesize

        corpus = str(Path(tempfile.gettempdir()) / "bandmate-bench-ingest-corpus")
        synthesize(SynthConfig(n_clips=n, seed=1), corpus, progress=False)
    return sorted((Path(corpus) / "clips").glob("*.wav"))[:n]


def run(name: str, clips: list[Path], **kwargs) -> None:
    home = Path(tempfile.mkdtemp(prefix="bandmate-bench-ingest-"))
    try:
        report = ClipIndex(home).add(clips, progress=False, **kwargs)
        per_min = len(report.added) / report.seconds * 60
        audio_min = sum(1 for _ in clips) * 8.5 / 60
        print(f"| {name} | {len(report.added)} | {report.seconds:.0f} | {per_min:.1f} | {audio_min / report.seconds * 60:.1f} |",
              flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--llm-n", type=int, default=4)
    parser.add_argument("--ray", action="store_true")
    args = parser.parse_args()
    clips = corpus_clips(args.corpus, args.n)
    print("| run | clips | seconds | clips/min | audio min/min |\n|---|---|---|---|---|")
    run(f"tag captions, {args.workers} workers", clips, workers=args.workers)
    if args.ray:
        run(f"tag captions, Ray Data {args.workers} workers", clips, ray_workers=args.workers)
    if args.llm_n:
        from assistant.llm import ChatTextGenerator, make_chat_model
        from core.settings import Settings

        llm = ChatTextGenerator(make_chat_model(Settings()))
        run(f"LLM captions ({llm.name}), {args.workers} workers", clips[:args.llm_n], workers=args.workers, llm=llm)


if __name__ == "__main__":
    main()
