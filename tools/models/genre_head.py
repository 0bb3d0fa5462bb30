"""A trained lyrics genre classifier: a frozen sentence encoder + a small MLP head.

The encoder (all-MiniLM-L6-v2 by default, or any Hugging Face encoder such as
distilbert-base-uncased) embeds stanza-sized chunks of the lyrics; their mean goes
through the head. Only the head is trained (``bandmate train genre`` over any CSV of
lyrics and genres) and stored; the checkpoint names its encoder. No lyrics data set
ships with bandmate, so there is no shipped head: the default classifier stays the
zero-shot one in :mod:`tools.songwriting.genre` until a user trains a head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.errors import ToolError
from tools.models.checkpoints import load_model
from tools.models.encoder import DEFAULT_ENCODER, embed_texts, lyric_chunks
from tools.music.genres import GENRES, GenreScore

# Names load() knows: a head trained with `bandmate train genre` lands in $BANDMATE_HOME/models.
REGISTRY = {"genre-head": "genre-head.pt"}


@dataclass(frozen=True)
class GenreHeadConfig:
    """Genres, encoder and sizes of a :class:`GenreHead`."""

    genres: tuple[str, ...] = GENRES
    encoder: str = DEFAULT_ENCODER
    text_dim: int = 384
    d_hidden: int = 256
    dropout: float = 0.3

    @classmethod
    def tiny(cls, genres: Sequence[str], encoder: str, text_dim: int) -> "GenreHeadConfig":
        return cls(tuple(genres), encoder, text_dim, d_hidden=16, dropout=0.0)

    @classmethod
    def from_dict(cls, row: dict) -> "GenreHeadConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})


class GenreHead(nn.Module):
    """Mean chunk embedding -> MLP -> genre logits."""

    def __init__(self, config: GenreHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.mlp = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(config.text_dim, config.d_hidden), nn.GELU(),
                                 nn.Dropout(config.dropout), nn.Linear(config.d_hidden, len(config.genres)))

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.mlp(embeddings)

    def embed(self, lyrics: Sequence[str]) -> torch.Tensor:
        """One vector per lyrics text: the mean of its chunks' embeddings. Empty lyrics raise ToolError."""
        chunks = [lyric_chunks(text) for text in lyrics]
        if any(not c for c in chunks):
            raise ToolError("There are no lyrics to classify; give some lines of lyrics.")
        flat = [c for cs in chunks for c in cs]
        vectors = torch.from_numpy(embed_texts(flat, encoder=self.config.encoder)).float()
        if vectors.shape[1] != self.config.text_dim:
            raise ToolError(f"The encoder {self.config.encoder} gives {vectors.shape[1]}-d vectors, the head expects "
                            f"{self.config.text_dim}; use the encoder the head was trained with.")
        out, start = [], 0
        for cs in chunks:
            out.append(vectors[start:start + len(cs)].mean(0))
            start += len(cs)
        return torch.stack(out)

    @torch.no_grad()
    def classify(self, lyrics: str) -> list[GenreScore]:
        """The head's genres ranked for ``lyrics``, best first, with probabilities that sum to 1."""
        self.eval()
        probs = self(self.embed([lyrics]).to(self.mlp[1].weight.device)).softmax(-1)[0].cpu()
        order = torch.argsort(-probs, stable=True)
        return [GenreScore(self.config.genres[i], round(float(probs[i]), 4)) for i in order.tolist()]


def load(name_or_path: str | Path = "genre-head", device: str | None = None) -> GenreHead:
    """A genre head by registry name (``genre-head``: the one `bandmate train genre` wrote) or checkpoint path."""
    return load_model(name_or_path, REGISTRY, "GenreHead", "bandmate train genre LYRICS.csv",
                      lambda config: GenreHead(GenreHeadConfig.from_dict(config)), device)
