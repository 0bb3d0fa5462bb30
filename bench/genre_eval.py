"""Lyrics genre classification on a labelled development set: accuracy and macro-F1 per method.

Methods: zero-shot (MiniLM embeddings vs the genre descriptions, the embedded default),
the LLM (the configured chat model names a genre; with --llm), and the frozen-MiniLM +
MLP head trained on the same set by 5-fold
cross-validation (no lyrics data set ships, so the head is only measured here).

    python bench/genre_eval.py                      # bench/data/genre_dev.csv
    python bench/genre_eval.py --llm                # also the configured LLM (minutes on a CPU)
    python bench/genre_eval.py --csv my_lyrics.csv  # any CSV with lyrics,genre columns
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.songwriting.genre import classify_genre, classify_genre_llm  # noqa: E402
from training.metrics import classification_scores  # noqa: E402
from training.train_genre import GenreTrainConfig, read_lyrics_csv, train_genre  # noqa: E402


def cross_validated_head(rows, folds: int, out_dir: Path) -> list[str]:
    """Predictions for every row from a head trained on the other folds."""
    from tools.models.genre_head import load

    predicted: list[str | None] = [None] * len(rows)
    for fold in range(folds):
        test = [i for i in range(len(rows)) if i % folds == fold]
        train = [rows[i] for i in range(len(rows)) if i % folds != fold]
        path = out_dir / f"head-{fold}.pt"
        train_genre(train, path, validation=[], config=GenreTrainConfig(), log=lambda _: None)
        head = load(path, device="cpu")
        for i in test:
            predicted[i] = head.classify(rows[i].text)[0].genre
    return predicted  # type: ignore[return-value]


def main() -> None:
    import tempfile

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str(ROOT / "bench" / "data" / "genre_dev.csv"))
    parser.add_argument("--llm", action="store_true", help="also ask the configured chat model (slow on a CPU)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = read_lyrics_csv(args.csv)
    truth = [r.genre for r in rows]
    results = []

    def run(name, fn):
        start = time.perf_counter()
        predicted = fn()
        scores = classification_scores(truth, predicted)
        results.append((name, scores, (time.perf_counter() - start) / len(rows)))

    run("zero-shot MiniLM vs descriptions", lambda: [classify_genre(r.text)[0].genre for r in rows])
    with tempfile.TemporaryDirectory() as tmp:
        run(f"MiniLM + MLP head ({args.folds}-fold CV)", lambda: cross_validated_head(rows, args.folds, Path(tmp)))
    if args.llm:
        from assistant.llm import ChatTextGenerator, make_chat_model
        from core.settings import get_settings

        llm = ChatTextGenerator(make_chat_model(get_settings()))
        run(f"LLM ({llm.name})",
            lambda: [classify_genre_llm(r.text, llm)[0].genre for r in rows])
    print(f"\n{len(rows)} lyrics, {len(set(truth))} genres ({Path(args.csv).name})\n")
    print(f"| {'method':<44} | accuracy | macro-F1 | s/lyric |")
    print(f"|{'-' * 46}|----------|----------|---------|")
    for name, scores, seconds in results:
        print(f"| {name:<44} | {scores.accuracy:8.3f} | {scores.macro_f1:8.3f} | {seconds:7.3f} |")


if __name__ == "__main__":
    main()
