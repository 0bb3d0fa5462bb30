"""Lyrics genre classification on a labelled development set: accuracy, macro-F1 and calibration per method.

Methods: the majority-class baseline, zero-shot (MiniLM embeddings vs the genre descriptions, the
embedded default) with and without its "unclear" answer, the LLM (the configured chat model names a
genre; with --llm), and the frozen-MiniLM + MLP head trained on the same set by 5-fold
cross-validation (no lyrics data set ships, so the head is only measured here). Then the
zero-shot reliability curve: predicted probability of the top genre, in bins, against how often
it is right, each half of the set scored at the temperature fitted on the other half.

The snippets in bench/data/genre_dev.csv were written for this bench; there is no set of real
song lyrics available offline, so no number here is a number on real lyrics.

    python bench/genre_eval.py                      # bench/data/genre_dev.csv
    python bench/genre_eval.py --fit                # the temperature tools/songwriting/genre.py ships
    python bench/genre_eval.py --llm                # also the configured LLM (minutes on a CPU)
    python bench/genre_eval.py --csv my_lyrics.csv  # any CSV with lyrics,genre columns
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.music.genres import GENRES  # noqa: E402
from tools.songwriting.genre import (  # noqa: E402
    CALIBRATED_TEMPERATURE,
    MIN_GENRE_PROBABILITY,
    UNCLEAR,
    calibration_split,
    classify_genre_llm,
    fit_temperature,
    genre_similarities,
    guess_from_vector,
    lyrics_vector,
)
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


def softmax(similarities: np.ndarray, temperature: float) -> np.ndarray:
    z = similarities / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def cross_fitted_probabilities(similarities: np.ndarray, truth: list[str]) -> np.ndarray:
    """Each half's genre probabilities at the temperature fitted on the other half."""
    fit, held = calibration_split(truth)
    probs = np.zeros_like(similarities)
    for scored, fitted_on in ((held, fit), (fit, held)):
        temperature = fit_temperature(similarities[fitted_on], [truth[i] for i in fitted_on])
        probs[scored] = softmax(similarities[scored], temperature)
    return probs


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 5) -> list[tuple[str, int, float, float]]:
    """(bin, count, mean predicted probability, observed accuracy) for each non-empty probability bin."""
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for lo, hi in zip(edges, edges[1:]):
        inside = (confidence >= lo) & ((confidence < hi) | (hi == 1.0))
        if inside.any():
            rows.append((f"{lo:.1f}-{hi:.1f}", int(inside.sum()), float(confidence[inside].mean()),
                         float(correct[inside].mean())))
    return rows


def main() -> None:
    import tempfile

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str(ROOT / "bench" / "data" / "genre_dev.csv"))
    parser.add_argument("--llm", action="store_true", help="also ask the configured chat model (slow on a CPU)")
    parser.add_argument("--fit", action="store_true", help="print the temperature fitted on the calibration half")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = read_lyrics_csv(args.csv)
    truth = [r.genre for r in rows]
    majority = Counter(truth).most_common(1)[0][0]
    results = []

    def run(name, fn, seconds_each: float | None = None):
        start = time.perf_counter()
        predicted = fn()
        named = [i for i, p in enumerate(predicted) if p != UNCLEAR]
        scores = classification_scores(truth, predicted)
        named_scores = classification_scores([truth[i] for i in named], [predicted[i] for i in named])
        results.append((name, scores, len(named) / len(rows), named_scores.accuracy,
                        seconds_each if seconds_each is not None else (time.perf_counter() - start) / len(rows)))

    start = time.perf_counter()
    vectors = np.stack([lyrics_vector(r.text) for r in rows])
    seconds = (time.perf_counter() - start) / len(rows)
    similarities = genre_similarities(vectors)
    top = [GENRES[i] for i in similarities.argmax(axis=1)]
    run(f"majority class ({majority})", lambda: [majority] * len(rows))
    run("zero-shot MiniLM vs descriptions", lambda: top, seconds)
    run(f'zero-shot, "unclear" under {MIN_GENRE_PROBABILITY:.0%}',
        lambda: [guess_from_vector(v).label for v in vectors], seconds)
    with tempfile.TemporaryDirectory() as tmp:
        run(f"MiniLM + MLP head ({args.folds}-fold CV)", lambda: cross_validated_head(rows, args.folds, Path(tmp)))
    if args.llm:
        from assistant.llm import ChatTextGenerator, make_chat_model
        from core.settings import get_settings

        llm = ChatTextGenerator(make_chat_model(get_settings()))
        run(f"LLM ({llm.name})",
            lambda: [classify_genre_llm(r.text, llm)[0].genre for r in rows])
    print(f"\n{len(rows)} lyrics, {len(set(truth))} genres ({Path(args.csv).name}; written for this bench, "
          "not real lyrics)\n")
    print(f"| {'method':<44} | accuracy | macro-F1 | named | acc. when named | s/lyric |")
    print(f"|{'-' * 46}|----------|----------|-------|-----------------|---------|")
    for name, scores, named, named_accuracy, secs in results:
        print(f"| {name:<44} | {scores.accuracy:8.3f} | {scores.macro_f1:8.3f} | {named:5.0%} | "
              f"{named_accuracy:15.3f} | {secs:7.3f} |")

    cross = cross_fitted_probabilities(similarities, truth)
    confidence = cross.max(axis=1)
    correct = np.array([GENRES[i] == t for i, t in zip(cross.argmax(axis=1), truth)])
    print("\nReliability of the zero-shot top genre (each half scored at the temperature fitted on the other)\n")
    print("| predicted | lyrics | mean predicted | observed accuracy |")
    print("|-----------|--------|----------------|-------------------|")
    curve = reliability(confidence, correct)
    for label, count, predicted, observed in curve:
        print(f"| {label:<9} | {count:6d} | {predicted:14.2f} | {observed:17.2f} |")
    ece = sum(count * abs(predicted - observed) for _, count, predicted, observed in curve) / len(rows)
    print(f"\nexpected calibration error {ece:.3f}; shipped temperature {CALIBRATED_TEMPERATURE}")
    if args.fit:
        fit, _ = calibration_split(truth)
        print(f"temperature fitted on the calibration half: {fit_temperature(similarities[fit], [truth[i] for i in fit]):.4f}")


if __name__ == "__main__":
    main()
