"""Offline text metrics for captions and answers (MusicQA / LP-MusicCaps style), in one place.

The same definitions as bench/tag_to_caption.py: corpus BLEU-n with 13a tokens
(as sacrebleu / HF ``evaluate``), METEOR 1.0 through nltk with exact + stem
matches (WordNet synonyms off: its data can't be fetched offline), ROUGE-L F on
lowercased alphanumeric tokens, and exact-answer accuracy.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence


def tokenize_13a(text: str) -> list[str]:
    """sacrebleu's 13a tokenization (punctuation split off; case kept)."""
    text = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    text = re.sub(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 ", f" {text} ")
    text = re.sub(r"([^0-9])([\.,])", r"\1 \2 ", text)
    text = re.sub(r"([\.,])([^0-9])", r" \1 \2", text)
    text = re.sub(r"([0-9])(-)", r"\1 \2 ", text)
    return text.split()


def corpus_bleu(predictions: list[str], references: list[str], max_order: int) -> float:
    """Corpus BLEU (one reference each), uniform weights up to ``max_order``, brevity penalty, no smoothing."""
    matches, possible = [0] * max_order, [0] * max_order
    pred_len = ref_len = 0
    for pred, ref in zip(predictions, references):
        p, r = tokenize_13a(pred), tokenize_13a(ref)
        pred_len, ref_len = pred_len + len(p), ref_len + len(r)
        for n in range(1, max_order + 1):
            p_ngrams = Counter(tuple(p[i:i + n]) for i in range(len(p) - n + 1))
            r_ngrams = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            matches[n - 1] += sum((p_ngrams & r_ngrams).values())
            possible[n - 1] += max(0, len(p) - n + 1)
    if min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / c) for m, c in zip(matches, possible)) / max_order
    brevity = 1.0 if pred_len > ref_len else math.exp(1 - ref_len / max(pred_len, 1))
    return brevity * math.exp(log_precision)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure on lowercased alphanumeric tokens."""
    p, r = (re.findall(r"[a-z0-9]+", s.lower()) for s in (prediction, reference))
    if not p or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for token in p:
        cur = [0]
        for j, ref_token in enumerate(r):
            cur.append(prev[j] + 1 if token == ref_token else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


class _NoWordNet:
    """Stands in for nltk's WordNet reader (its data isn't installable offline): no synonyms."""

    def synsets(self, *args, **kwargs):
        return []


def meteor(prediction: str, reference: str) -> float | None:
    """nltk METEOR (alpha 0.9, beta 3, gamma 0.5) with exact and stem matches; None without nltk."""
    try:
        from nltk.translate.meteor_score import meteor_score
    except ImportError:
        return None
    tokens = [re.findall(r"\w+|[^\w\s]", s) for s in (prediction, reference)]
    return meteor_score([tokens[1]], tokens[0], wordnet=_NoWordNet())


def normalize_answer(text: str) -> str:
    """Lowercase words only, so "It is in D major." and "it is in d major" match."""
    return " ".join(re.findall(r"[a-z0-9#]+", (text or "").lower()))


def answer_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float | None]:
    """BLEU-1/4, METEOR, ROUGE-L (percent, as MusicQA reports them) and exact-answer accuracy (percent)."""
    predictions, references = list(predictions), list(references)
    if not predictions:
        return {"bleu1": None, "bleu4": None, "meteor": None, "rougeL": None, "exact": None, "n": 0}
    meteors = [meteor(p, r) for p, r in zip(predictions, references)]
    return {
        "bleu1": 100 * corpus_bleu(predictions, references, 1),
        "bleu4": 100 * corpus_bleu(predictions, references, 4),
        "meteor": None if None in meteors else 100 * sum(meteors) / len(meteors),
        "rougeL": 100 * sum(rouge_l(p, r) for p, r in zip(predictions, references)) / len(predictions),
        "exact": 100 * sum(normalize_answer(p) == normalize_answer(r) for p, r in zip(predictions, references))
        / len(predictions),
        "n": len(predictions),
    }
